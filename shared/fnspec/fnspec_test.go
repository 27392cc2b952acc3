package fnspec_test

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/fnspec"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// TestSpecsMatchFunctions checks that every directory under functions/ has a spec
// and every spec a directory: `make build` builds the directories, the stack
// deploys the specs.
func TestSpecsMatchFunctions(t *testing.T) {
	root, err := platform.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	mains, err := filepath.Glob(filepath.Join(root, "functions", "*", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, m := range mains {
		dirs = append(dirs, filepath.Base(filepath.Dir(m)))
	}
	names := fnspec.Names()
	sort.Strings(dirs)
	sort.Strings(names)
	if strings.Join(dirs, ",") != strings.Join(names, ",") {
		t.Errorf("functions/ holds %v, the specs name %v", dirs, names)
	}
}

func TestSpecs(t *testing.T) {
	for _, s := range fnspec.Specs() {
		t.Run(s.Name, func(t *testing.T) {
			if s.Description == "" || s.Timeout < 0 || s.MemoryMB < 128 || s.Reserved < 1 {
				t.Errorf("incomplete spec %+v", s)
			}
			seen := map[string]bool{}
			for _, e := range append(append([]string(nil), fnspec.Common...), s.Env...) {
				if seen[e] || e == "" || strings.ToUpper(e) != e {
					t.Errorf("variable %q is empty, repeated or not upper case", e)
				}
				seen[e] = true
			}
			got, ok := fnspec.Lookup(s.Name)
			if !ok || got.Name != s.Name {
				t.Errorf("Lookup(%q) = %+v, %v", s.Name, got, ok)
			}
		})
	}
	if _, ok := fnspec.Lookup("no-such-function"); ok {
		t.Error("Lookup found a function that does not exist")
	}
}
