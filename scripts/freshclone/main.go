// Command freshclone checks the README's `make dev` as a new user on a laptop runs it:
// in a fresh clone of this repository's HEAD with no ../shared beside it, so Meta's
// spec must be fetched by `make dev` itself. GitHub is not reachable from every
// machine that runs this, so the spec is served from a local HTTP server (the
// download's SHA-256 check still applies); -offline points the download at a closed
// port instead, to show that `make dev` still starts without the spec.
//
//	go run ./scripts/freshclone            # spec fetched from a local server
//	go run ./scripts/freshclone -offline   # no network: validation off, one line says so
//
// It waits for /healthz, books the demo appointment with `go run ./scripts/demo book`,
// waits for its reminder at the Graph API stand-in, then stops `make dev` with Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/frontdesk-health/frontdesk/scripts/internal/localstack"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsappspec"
)

const demoPhone = "12025550143" // the demo command's fictional patient

func main() {
	offline := flag.Bool("offline", false, "make the spec download fail, as on a machine without network")
	keep := flag.Bool("keep", false, "keep the clone's folder")
	flag.Parse()
	if err := run(*offline, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "freshclone: FAIL:", err)
		os.Exit(1)
	}
	fmt.Println("freshclone: PASS")
}

func run(offline, keep bool) error {
	root, err := platform.RepoRoot()
	if err != nil {
		return err
	}
	parent, err := os.MkdirTemp("", "frontdesk-laptop-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(parent)
	}
	clone := filepath.Join(parent, "frontdesk")
	if out, err := exec.Command("git", "clone", "--quiet", root, clone).CombinedOutput(); err != nil {
		return fmt.Errorf("git clone: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(parent, "shared")); err == nil {
		return errors.New("the clone has a ../shared beside it")
	}

	specURL, stopSpec, err := specSource(offline)
	if err != nil {
		return err
	}
	defer stopSpec()
	port, graphPort := freePort(), freePort()
	env := append(os.Environ(), "PORT="+strconv.Itoa(port), "GRAPH_PORT="+strconv.Itoa(graphPort), "OIDC_PORT="+strconv.Itoa(freePort()),
		whatsappspec.EnvSpecURL+"="+specURL, whatsappspec.EnvSpec+"=")
	env = withoutVar(env, whatsappspec.EnvSpec) // as on a laptop: nothing points at a spec

	start := time.Now()
	out := &localtest.LogBuffer{}
	dev := exec.Command("make", "dev")
	dev.Dir, dev.Env, dev.Stdout, dev.Stderr = clone, env, out, out
	dev.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := dev.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- dev.Wait() }()
	defer func() {
		_ = syscall.Kill(-dev.Process.Pid, syscall.SIGINT)
		select {
		case <-exited: //nolint:errcheck // the stack is being stopped; how it exits is not this command's result
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-dev.Process.Pid, syscall.SIGKILL)
		}
	}()

	api := "http://127.0.0.1:" + strconv.Itoa(port)
	if err := waitFor(exited, out, 10*time.Minute, func() bool { return get(api+"/healthz") == http.StatusOK }); err != nil {
		return fmt.Errorf("/healthz: %w", err)
	}
	fmt.Printf("freshclone: /healthz answered 200 %s after `make dev` (npm ci, go build and the spec included)\n", time.Since(start).Round(100*time.Millisecond))
	line := "schema validation is off"
	switch {
	case offline && !strings.Contains(out.String(), line):
		return fmt.Errorf("offline, but make dev did not say %q:\n%s", line, out.String())
	case !offline && strings.Contains(out.String(), line):
		return fmt.Errorf("the spec was served, but make dev ran without it:\n%s", out.String())
	case !offline:
		if _, err := os.Stat(filepath.Join(clone, ".local", "openapi", whatsappspec.SpecFileName)); err != nil {
			return fmt.Errorf("the clone has no downloaded spec: %v", err)
		}
		fmt.Println("freshclone: the spec was downloaded into the clone's .local/openapi and its SHA-256 checked")
	default:
		fmt.Println("freshclone: make dev said:", line)
	}

	book := exec.Command("go", "run", "./scripts/demo", "book", "-id", "laptop-appt", "-in", "47h")
	book.Dir, book.Env = clone, env
	if b, err := book.CombinedOutput(); err != nil {
		return fmt.Errorf("demo book: %v\n%s", err, b)
	}
	booked := time.Now()
	graph := "http://127.0.0.1:" + strconv.Itoa(graphPort) + "/_stub/messages"
	if err := waitFor(exited, out, time.Minute, func() bool { return strings.Contains(body(graph), demoPhone) }); err != nil {
		return fmt.Errorf("reminder at the stand-in: %w", err)
	}
	fmt.Printf("freshclone: the demo booking's reminder reached the Graph API stand-in %s after the booking\n", time.Since(booked).Round(100*time.Millisecond))
	return nil
}

// specSource serves the spec this repository uses from a loopback server, or, when
// offline, returns an address where nothing listens.
func specSource(offline bool) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	url := "http://" + ln.Addr().String() + "/" + whatsappspec.SpecFileName
	if offline {
		ln.Close()
		return url, func() {}, nil
	}
	if !whatsappspec.SpecAvailable() {
		ln.Close()
		return "", nil, errors.New("this repository has no spec to serve: run `make openapi-spec` here first, or use -offline")
	}
	path := whatsappspec.SpecPath()
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, path)
	})}
	go func() { _ = srv.Serve(ln) }()
	return url, func() { _ = srv.Close() }, nil
}

func waitFor(exited <-chan error, out *localtest.LogBuffer, limit time.Duration, ok func() bool) error {
	deadline := time.Now().Add(limit)
	for !ok() {
		select {
		case err := <-exited:
			return fmt.Errorf("make dev exited (%v):\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s:\n%s", limit, out.String())
		}
		time.Sleep(200 * time.Millisecond) // polling a local server, bounded by deadline
	}
	return nil
}

func get(url string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func body(url string) string {
	resp, err := http.Get(url) //nolint:gosec // a loopback URL this command built
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func freePort() int {
	p, err := localstack.FreePort()
	if err != nil {
		panic(err)
	}
	return p
}

func withoutVar(env []string, name string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}
