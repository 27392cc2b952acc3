package devstack_test

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"testing"
)

// The system tests share one running stack and keep their data apart by phone
// number: a STOP sent by one test holds for every later test that uses the same
// number (an opt-out belongs to the number), so a reused number makes a later
// test fail only when the whole package runs. Each patient number belongs to one
// test file; the business's own display number is the exception.
func TestEachPatientNumberBelongsToOneTestFile(t *testing.T) {
	const businessNumber = "15550100000"
	number := regexp.MustCompile(`\+?1555010[0-9]{4}`)
	// TestMain runs the package from the repository root; read this package's folder.
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate this test file")
	}
	files, err := filepath.Glob(filepath.Join(filepath.Dir(self), "*_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range number.FindAllString(string(b), -1) {
			n := m
			if n[0] == '+' {
				n = n[1:]
			}
			if n == businessNumber {
				continue
			}
			if seen[n] == nil {
				seen[n] = map[string]bool{}
			}
			seen[n][filepath.Base(f)] = true
		}
	}
	if len(seen) == 0 {
		t.Fatal("found no patient numbers: the pattern no longer matches how the tests write them")
	}
	for n, in := range seen {
		if len(in) > 1 {
			var names []string
			for f := range in {
				names = append(names, f)
			}
			sort.Strings(names)
			t.Errorf("+%s is used by %v: give each test file numbers of its own", n, names)
		}
	}
}
