package whatsappspec

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
)

// The spec is fetched from a pinned commit of github.com/facebook/openapi and checked
// against its digest, so every machine validates against the same bytes as the copy
// this project's patches were written for.
const (
	// PinnedCommit is the facebook/openapi commit whose business-messaging-api_v23.0.yaml
	// is the file the patches in patches.go are written against.
	PinnedCommit = "a78a9df459e0c07501ac1eb779cc75c49d0bfd46"
	// PinnedSHA256 is that file's SHA-256.
	PinnedSHA256 = "c7148d5e2aeff32f2effc3d3557795d7eddd07abf8b017c9e40e86bb3312c116"
	// PinnedURL is where it is published.
	PinnedURL = "https://raw.githubusercontent.com/facebook/openapi/" + PinnedCommit + "/business-messaging-api_v23.0.yaml"
	// EnvSpecURL overrides PinnedURL (a mirror, or a local server in tests); the
	// digest check still applies.
	EnvSpecURL = "WHATSAPP_OPENAPI_SPEC_URL"
)

// maxSpecBytes bounds the download: the real file is about 1.1 MB.
const maxSpecBytes = 16 << 20

// ErrDigest marks a downloaded file whose SHA-256 is not PinnedSHA256.
var ErrDigest = errors.New("whatsappspec: downloaded spec does not have the pinned SHA-256")

// EnsureResult says what Ensure found or did.
type EnsureResult struct {
	Path        string
	Downloaded  bool  // fetched now
	Unavailable bool  // not here and the source could not be reached
	Reason      error // why it was unavailable
}

// Ensure returns at once when a file exists at path. Otherwise it downloads url,
// checks the pinned digest and writes the file to path (atomically). When the source
// cannot be reached (no network, DNS failure, refused, timed out, or an HTTP error)
// it reports Unavailable rather than an error, so the local stack and the tests can
// run without schema validation; a file that arrives with the wrong digest is an error.
func Ensure(ctx context.Context, path, url string) (EnsureResult, error) {
	res := EnsureResult{Path: path}
	if _, err := os.Stat(path); err == nil {
		return res, nil
	}
	body, err := download(ctx, url)
	if err != nil {
		res.Unavailable, res.Reason = true, err
		return res, nil
	}
	sum := sha256.Sum256(body)
	if got := hex.EncodeToString(sum[:]); got != PinnedSHA256 {
		return res, fmt.Errorf("%w: got %s from %s, want %s", ErrDigest, got, url, PinnedSHA256)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil { //nolint:gosec // G301: a folder for a public spec in the developer's checkout, read by other tools too
		return res, fmt.Errorf("whatsappspec: create %s: %w", filepath.Dir(path), err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return res, fmt.Errorf("whatsappspec: write spec: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if _, err := tmp.Write(body); err != nil {
		tmp.Close()
		return res, fmt.Errorf("whatsappspec: write spec: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return res, fmt.Errorf("whatsappspec: write spec: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return res, fmt.Errorf("whatsappspec: write spec: %w", err)
	}
	res.Downloaded = true
	return res, nil
}

func download(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, maxSpecBytes))
}
