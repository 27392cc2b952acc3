package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/platform"
)

func TestDigestMatchesWhatTheLogsCarry(t *testing.T) {
	const key = "test-digest-key-0001"
	env := func(k string) string {
		if k == platform.EnvLogDigestKey {
			return key
		}
		return ""
	}
	platform.SetDigestKey([]byte(key))
	cases := []struct {
		name string
		args []string
		env  func(string) string
		want string // "" = an error
	}{
		{"patient id", []string{"-id", "pat-123"}, env, platform.Hash("pat-123")},
		{"wamid", []string{"-id", "wamid.HBgLMTU1NTAxMDAxNDMVAgA="}, env, platform.Hash("wamid.HBgLMTU1NTAxMDAxNDMVAgA=")},
		{"phone as its contact key", []string{"-phone", "-id", "5215550100143"}, env, platform.Hash("+525550100143")},
		{"no key", []string{"-id", "pat-123"}, func(string) string { return "" }, ""},
		{"no id", nil, env, ""},
		{"not a phone", []string{"-phone", "-id", "abc"}, env, ""},
	}
	for _, c := range cases {
		var out bytes.Buffer
		err := run(c.args, c.env, &out)
		if c.want == "" {
			if err == nil {
				t.Errorf("%s: want an error, got %q", c.name, out.String())
			}
			continue
		}
		if err != nil || strings.TrimSpace(out.String()) != c.want {
			t.Errorf("%s: got %q, %v; want %q", c.name, out.String(), err, c.want)
		}
	}
	if platform.Digest([]byte("other-key"), "pat-123") == platform.Hash("pat-123") {
		t.Error("the digest does not depend on the key")
	}
}
