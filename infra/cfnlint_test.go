package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// cfnLint returns a command prefix that runs cfn-lint, looking where these
// machines install it: PATH, pyenv's shim, each pyenv version, then the Python
// module. ok is false only where it is absent.
func cfnLint() (cmd []string, ok bool) {
	works := func(c []string) bool {
		args := append(append([]string{}, c[1:]...), "--version")
		return exec.Command(c[0], args...).Run() == nil
	}
	var candidates [][]string
	if p, err := exec.LookPath("cfn-lint"); err == nil {
		candidates = append(candidates, []string{p})
	}
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, []string{filepath.Join(home, ".pyenv", "shims", "cfn-lint")})
		matches, _ := filepath.Glob(filepath.Join(home, ".pyenv", "versions", "*", "bin", "cfn-lint"))
		for _, m := range matches {
			candidates = append(candidates, []string{m})
		}
	}
	if py, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, []string{py, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())"})
	}
	for _, c := range candidates {
		if _, err := os.Stat(c[0]); err == nil && works(c) {
			return c, true
		}
	}
	return nil, false
}

// TestCfnLint lints each synthesized template. cfn-lint's exit code is a bit
// set: 2 errors, 4 warnings, 8 informational; anything else means it failed.
func TestCfnLint(t *testing.T) {
	lint, ok := cfnLint()
	if !ok {
		t.Skip("cfn-lint not found (PATH, ~/.pyenv, python3 -m cfnlint): install with `pip install cfn-lint` to lint the template")
	}
	t.Parallel()
	dir := t.TempDir()
	var files []string
	for _, name := range []string{"dev", "prod"} {
		p := filepath.Join(dir, "Frontdesk-"+name+".template.json")
		if err := os.WriteFile(p, stacks[name].raw, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	args := append(append([]string{}, lint[1:]...), append([]string{"--format", "parseable", "--"}, files...)...)
	out, err := exec.Command(lint[0], args...).CombinedOutput()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("run cfn-lint: %v", err)
	}
	report := strings.TrimSpace(string(out))
	switch {
	case code&^(2|4|8) != 0:
		t.Fatalf("cfn-lint failed (exit %d):\n%s", code, report)
	case code&2 != 0:
		t.Errorf("cfn-lint errors:\n%s", report)
	case report != "":
		t.Logf("cfn-lint warnings/info (exit %d):\n%s", code, report)
	}
}
