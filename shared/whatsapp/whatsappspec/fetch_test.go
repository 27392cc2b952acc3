package whatsappspec_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsappspec"
)

// specServer serves body at /spec.yaml and counts requests.
func specServer(t *testing.T, body []byte) (url string, hits *atomic.Int32) {
	t.Helper()
	hits = &atomic.Int32{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path != "/spec.yaml" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/spec.yaml", hits
}

// The real file, served from a local server as GitHub would serve it, passes the
// pinned digest check and lands byte for byte at the destination.
func TestEnsureDownloadsThePinnedFile(t *testing.T) {
	whatsappspec.RequireSpec(t)
	spec, err := os.ReadFile(whatsappspec.SpecPath())
	if err != nil {
		t.Fatal(err)
	}
	url, hits := specServer(t, spec)
	dest := filepath.Join(t.TempDir(), "nested", whatsappspec.SpecFileName)
	res, err := whatsappspec.Ensure(context.Background(), dest, url)
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if !res.Downloaded || res.Unavailable || res.Path != dest {
		t.Fatalf("result %+v, want downloaded to %s", res, dest)
	}
	got, err := os.ReadFile(dest)
	if err != nil || !bytes.Equal(got, spec) {
		t.Fatalf("destination differs from the served file (err %v)", err)
	}
	// A second run finds the file and does not download again.
	res, err = whatsappspec.Ensure(context.Background(), dest, url)
	if err != nil || res.Downloaded || res.Unavailable {
		t.Fatalf("second Ensure: %+v, %v", res, err)
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("%d downloads, want 1", n)
	}
}

func TestEnsureRefusesAFileWithAnotherDigest(t *testing.T) {
	url, _ := specServer(t, []byte("openapi: 3.1.0\ninfo: {title: not Meta's}\n"))
	dir := t.TempDir()
	dest := filepath.Join(dir, whatsappspec.SpecFileName)
	_, err := whatsappspec.Ensure(context.Background(), dest, url)
	if !errors.Is(err, whatsappspec.ErrDigest) {
		t.Fatalf("err = %v, want ErrDigest", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a refused download left files behind: %v", entries)
	}
}

func TestEnsureReportsAnUnreachableSourceAsUnavailable(t *testing.T) {
	// A port that was free a moment ago: nothing listens there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	notFound, _ := specServer(t, nil)
	for name, url := range map[string]string{
		"connection refused": "http://" + addr + "/spec.yaml",
		"HTTP 404":           notFound + ".missing",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			dest := filepath.Join(dir, whatsappspec.SpecFileName)
			res, err := whatsappspec.Ensure(context.Background(), dest, url)
			if err != nil {
				t.Fatalf("Ensure: %v, want no error", err)
			}
			if !res.Unavailable || res.Downloaded || res.Reason == nil {
				t.Fatalf("result %+v, want unavailable with a reason", res)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Fatalf("files left behind: %v", entries)
			}
		})
	}
}

func TestDownloadPathFollowsTheEnvironment(t *testing.T) {
	t.Setenv(whatsappspec.EnvSpec, "/elsewhere/spec.yaml")
	if p, err := whatsappspec.DownloadPath(); err != nil || p != "/elsewhere/spec.yaml" {
		t.Fatalf("DownloadPath = %q, %v", p, err)
	}
	t.Setenv(whatsappspec.EnvSpec, "")
	p, err := whatsappspec.DownloadPath()
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(p) != whatsappspec.SpecFileName || filepath.Base(filepath.Dir(filepath.Dir(p))) != ".local" {
		t.Fatalf("DownloadPath = %q, want .local/openapi/%s", p, whatsappspec.SpecFileName)
	}
}
