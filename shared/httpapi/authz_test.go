package httpapi

import (
	"errors"
	"net/http"
	"slices"
	"testing"
)

func TestAuthorizeClinic(t *testing.T) {
	alex := Principal{Actor: "staff:sub-alex", Clinics: []string{"demo-clinic"}}
	both := Principal{Actor: "staff:sub-kim", Clinics: []string{"demo-clinic", "second-clinic"}}
	token := Principal{Actor: "token:write", ClinicID: "demo-clinic"}
	cases := []struct {
		name   string
		staff  Principal
		clinic string
		ok     bool
	}{
		{"staff, own clinic", alex, "demo-clinic", true},
		{"staff, other clinic", alex, "second-clinic", false},
		{"staff of both, second", both, "second-clinic", true},
		{"staff of no clinic", Principal{Actor: "staff:sub-x"}, "demo-clinic", false},
		{"token, own clinic", token, "demo-clinic", true},
		{"token, other clinic", token, "second-clinic", false},
		{"nothing granted", Principal{}, "demo-clinic", false},
		{"empty clinic id", alex, "", false},
		{"empty clinic id, empty token clinic", Principal{}, "", false},
		{"prefix is not membership", alex, "demo", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := AuthorizeClinic(c.staff, c.clinic)
			if c.ok {
				if err != nil {
					t.Fatalf("AuthorizeClinic = %v, want nil", err)
				}
				return
			}
			var p *Problem
			if !errors.As(err, &p) || p.Status != http.StatusForbidden {
				t.Fatalf("AuthorizeClinic = %v, want a 403 problem", err)
			}
		})
	}
}

func TestClinicsFromGroups(t *testing.T) {
	cases := []struct {
		name   string
		groups []string
		want   []string
	}{
		{"cognito groups", []string{"clinic:demo-clinic", "clinic:second-clinic"}, []string{"demo-clinic", "second-clinic"}},
		{"other groups ignored", []string{"admins", "clinic:demo-clinic", "us-east-1_abc_Google"}, []string{"demo-clinic"}},
		{"invalid ids ignored", []string{"clinic:", "clinic:Demo", "clinic:../x", "clinic:a"}, nil},
		{"duplicates once", []string{"clinic:demo-clinic", "clinic:demo-clinic"}, []string{"demo-clinic"}},
		{"none", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ClinicsFromGroups(c.groups); !slices.Equal(got, c.want) {
				t.Fatalf("ClinicsFromGroups(%q) = %q, want %q", c.groups, got, c.want)
			}
		})
	}
}
