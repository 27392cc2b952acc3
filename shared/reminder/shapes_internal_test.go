package reminder

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

// The hand-written checks answer as the patterns they replaced, captures included.
func TestRecallShapesMatchTheirPatterns(t *testing.T) {
	interval := regexp.MustCompile(`^([1-9][0-9]{0,3})([dw])$`)
	inputs := append([]string{"", "d", "0d", "1d", "90d", "12w", "9999w", "10000d", "1m", "01d", "1dd", " 1d", "1 d", "1D"},
		randomStrings(1, "019dw x", 7, 5000)...)
	for _, s := range inputs {
		number, unit, ok := recallInterval(s)
		m := interval.FindStringSubmatch(s)
		if ok != (m != nil) || (ok && (number != m[1] || unit != m[2])) {
			t.Errorf("recallInterval(%q) = %q %q %v, the pattern says %q", s, number, unit, ok, m)
		}
	}
	code := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	inputs = append([]string{"", "a", "A.b_c-d", ".a", "_a", "-a", "a b", "é", strings.Repeat("a", 64), strings.Repeat("a", 65), "checkup"},
		randomStrings(2, "aZ9._- /", 66, 5000)...)
	for _, s := range inputs {
		if got, want := visitTypeCode(s), code.MatchString(s); got != want {
			t.Errorf("visitTypeCode(%q) = %v, the pattern says %v", s, got, want)
		}
	}
}
