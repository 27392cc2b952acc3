package metrics

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

func randomStrings(seed uint64, alphabet string, maxLen, n int) []string {
	r := rand.New(rand.NewPCG(seed, seed))
	out := make([]string, n)
	for i := range out {
		b := make([]byte, r.IntN(maxLen+1))
		for j := range b {
			b[j] = alphabet[r.IntN(len(alphabet))]
		}
		out[i] = string(b)
	}
	return out
}

// The hand-written checks answer as the patterns they replaced.
func TestShapesMatchTheirPatterns(t *testing.T) {
	cases := []struct {
		name    string
		pattern string
		check   func(string) bool
		inputs  []string
	}{
		{"category", `^[a-z][a-z_]{0,39}$`, plainCategory,
			append([]string{"", "a", "_", "marketing", "service_", "a1", "Utility", strings.Repeat("a", 40), strings.Repeat("a", 41), "a-b"},
				randomStrings(1, "az_A1-", 42, 5000)...)},
		{"date", `^[0-9]{4}-[0-9]{2}-[0-9]{2}$`, dateOnly,
			append([]string{"", "2026-12-01", "2026-1-01", "2026-12-1", "20261201", "2026/12/01", "2026-12-011", "a026-12-01", " 2026-12-01"},
				randomStrings(2, "0129-", 12, 5000)...)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			re := regexp.MustCompile(c.pattern)
			for _, s := range c.inputs {
				if got, want := c.check(s), re.MatchString(s); got != want {
					t.Errorf("%q: %v, the pattern says %v", s, got, want)
				}
			}
		})
	}
}
