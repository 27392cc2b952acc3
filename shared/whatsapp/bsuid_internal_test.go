package whatsapp

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// IsBSUID checks by hand the pattern it replaced; every input here must get the
// regexp's answer.
func TestIsBSUIDMatchesItsPattern(t *testing.T) {
	pattern := regexp.MustCompile(`^[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]{1,128}$`)
	inputs := []string{"", "US", "US.", "US.1", "us.1", "U1.1", "US.ENT.", "US.ENT.1", "US.ENT1", "US.ENT..1", "US.ENTx.1",
		"US.13491208655302741918", "US.ENT.11815799212886844830", "US.1-2", "US.1 ", " US.1", "USA.1", "US..1",
		"US." + strings.Repeat("a", 128), "US." + strings.Repeat("a", 129), "US.ENT." + strings.Repeat("Z", 128),
		"US.ENT." + strings.Repeat("Z", 129), "US.ENT.ENT.1", "US.é"}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := "UE NT.a9-é"
	for range 5000 {
		b := []byte("US.")
		if r.IntN(3) == 0 {
			b = b[:r.IntN(3)]
		}
		for range r.IntN(12) {
			b = append(b, alphabet[r.IntN(len(alphabet))])
		}
		inputs = append(inputs, string(b))
	}
	for _, s := range inputs {
		if got, want := IsBSUID(s), pattern.MatchString(s); got != want {
			t.Errorf("IsBSUID(%q) = %v, the pattern says %v", s, got, want)
		}
	}
}
