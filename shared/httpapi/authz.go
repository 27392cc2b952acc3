package httpapi

import (
	"net/http"
	"slices"
	"strings"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
)

// Staff is a signed-in person of one or more clinics, as the identity provider
// asserted it. Name is shown in the audit trail and the console; it is never logged.
type Staff struct {
	Subject string
	Name    string
	Clinics []string
}

// ClinicGroupPrefix marks identity-provider groups that grant a clinic: a member of
// "clinic:demo-clinic" is staff of demo-clinic. Other groups are ignored, so an
// organisation can keep its own groups in the same claim.
const ClinicGroupPrefix = "clinic:"

// ClinicsFromGroups turns a group claim into the clinic ids it grants, skipping
// groups that are not clinic groups or name an impossible clinic id.
func ClinicsFromGroups(groups []string) []string {
	var out []string
	for _, g := range groups {
		id, ok := strings.CutPrefix(g, ClinicGroupPrefix)
		if !ok || !clinic.ValidID(id) || slices.Contains(out, id) {
			continue
		}
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// AuthorizeClinic is the one place that decides whether a staff member may see a
// clinic's data: the console and the conversation API both call it before reading
// anything of the clinic, so the answer cannot differ between them. It returns nil
// or a 403 problem that names no other clinic.
func AuthorizeClinic(s Staff, clinicID string) error {
	if s.Subject == "" || clinicID == "" || !slices.Contains(s.Clinics, clinicID) {
		return NewProblem(http.StatusForbidden, "you are not staff of this clinic")
	}
	return nil
}
