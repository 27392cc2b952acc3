package httpapi

import (
	"net/http"
	"slices"
	"strings"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
)

// Principal is who calls: a clinic's token, which grants that one clinic
// (ClinicID), or a signed-in staff member, granted the clinics of their identity
// provider groups (Clinics). Actor is what the audit trail records.
type Principal struct {
	Actor    string
	ClinicID string
	Clinics  []string
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

// AuthorizeClinic is the one place that decides whether a principal may see a
// clinic's data: the console and the conversation API both call it before reading
// anything of the clinic, so the answer cannot differ between them. It returns nil
// or a 403 problem that names no other clinic.
func AuthorizeClinic(p Principal, clinicID string) error {
	if clinicID == "" || (p.ClinicID != clinicID && !slices.Contains(p.Clinics, clinicID)) {
		return NewProblem(http.StatusForbidden, "these credentials do not grant access to this clinic's conversations")
	}
	return nil
}
