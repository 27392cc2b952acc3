// Command openapispec makes sure Meta's WhatsApp OpenAPI spec is on this machine
// before `make dev` and `make test` need it. The Graph API stand-in validates every
// send against the spec's Message schema and the contract tests replay its webhook
// examples; the spec is MIT licensed but not ours to commit.
//
// Where the spec already is (WHATSAPP_OPENAPI_SPEC, ../shared/reference beside the
// repository, or .local/openapi/ from an earlier run), it does nothing. Otherwise it
// downloads the file from a pinned commit of github.com/facebook/openapi and checks its
// SHA-256 before putting it in .local/openapi/ (or at WHATSAPP_OPENAPI_SPEC). Where the
// network cannot be reached it prints the one line the dev stack and the skipped
// contract tests print, and exits 0: both commands still work, without schema checks.
// A download whose digest differs is an error (exit 1): a changed file must not be
// trusted silently.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsappspec"
)

func main() {
	url := flag.String("url", envOr(whatsappspec.EnvSpecURL, whatsappspec.PinnedURL), "where to download the spec from (env "+whatsappspec.EnvSpecURL+")")
	timeout := flag.Duration("timeout", 60*time.Second, "give up on the download after this long")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if whatsappspec.SpecAvailable() {
		return
	}
	dest, err := whatsappspec.DownloadPath()
	if err != nil {
		fmt.Fprintln(os.Stderr, "openapispec:", err)
		os.Exit(1)
	}
	res, err := whatsappspec.Ensure(ctx, dest, *url)
	switch {
	case err != nil:
		fmt.Fprintln(os.Stderr, "openapispec:", err)
		os.Exit(1)
	case res.Unavailable:
		fmt.Fprintf(os.Stderr, "openapispec: cannot download %s: %v\n", *url, res.Reason)
		fmt.Fprintln(os.Stderr, whatsappspec.SkipMessage(res.Path))
	case res.Downloaded:
		fmt.Fprintf(os.Stderr, "openapispec: Meta's spec downloaded to %s (sha256 %s)\n", res.Path, whatsappspec.PinnedSHA256)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
