package apptest

import "testing"

func TestEquivalent(t *testing.T) {
	cases := []struct {
		name, file, out string
		ok              bool
	}{
		{"equal", `{"a":"x","b":[1,2],"c":{"d":true}}`, `{"c":{"d":true},"b":[1,2],"a":"x"}`, true},
		{"AWS null for a Go string", `{"caller":null,"body":null}`, `{"caller":"","body":""}`, true},
		{"AWS false dropped by omitempty", `{"isBase64Encoded":false}`, `{}`, true},
		{"AWS omits what Go writes empty", `{}`, `{"md5OfMessageAttributes":"","authorizer":null}`, true},
		{"field the Go type does not know", `{"mesageId":"m-1"}`, `{"messageId":""}`, false},
		{"value changed", `{"time":"2035-03-13T13:30:00+00:00"}`, `{"time":"2035-03-13T13:30:00Z"}`, false},
		{"value appears", `{}`, `{"stage":"prod"}`, false},
		{"array length", `{"r":[1,2]}`, `{"r":[1]}`, false},
		{"object becomes null", `{"messageAttributes":{}}`, `{"messageAttributes":null}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Equivalent([]byte(tc.file), []byte(tc.out))
			if (err == nil) != tc.ok {
				t.Fatalf("Equivalent(%s, %s) = %v, want ok=%v", tc.file, tc.out, err, tc.ok)
			}
		})
	}
}
