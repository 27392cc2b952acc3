package devstack

import (
	"fmt"
	"strings"
)

// Instructions is what `make dev` prints once everything answers: commands to paste.
func Instructions(s *Stack, cfg Config) string {
	graph := fmt.Sprintf("  Graph API stand-in            %[1]s        recorded sends: %[1]s/_stub/messages", s.GraphURL)
	if s.Stub == nil {
		graph = fmt.Sprintf("  Graph API (WHATSAPP_API_BASE_URL) %s   the built-in stand-in is not running: step 2 works only against a stand-in", s.GraphURL)
	}
	return fmt.Sprintf(`
Frontdesk is running.
  API (EHR + WhatsApp webhook)  %[1]s        health: %[1]s/healthz   contract: %[1]s/openapi.yaml
%[6]s
  demo clinic                   %[3]s (phone_number_id %[4]s)

Try it (in another terminal, from the repository):

  # 1. The EHR books an appointment 47 hours from now: its 48 h reminder is due at once.
  go run ./scripts/demo book -id demo-appt-1 -in 47h

  # 2. A few seconds later, the reminder the sweep queued and the sender sent:
  go run ./scripts/demo sent
  curl -s %[2]s/_stub/messages

  # 3. The patient taps Confirm (a signed webhook, as Meta sends it):
  go run ./scripts/demo tap -id demo-appt-1 -button confirm

  # 4. The EHR reads the appointment back: response confirmed, reminder read.
  curl -s -H 'Authorization: Bearer %[5]s' %[1]s/v1/clinics/%[3]s/appointments/demo-appt-1

  # Patient messages in free text (keywords, STOP, anything else):
  go run ./scripts/demo say -text "STOP"

  # 5. A question for the front desk opens a conversation; list it, read it, answer it (write token):
  go run ./scripts/demo say -text "Can I come 30 minutes later?"
  curl -s -H 'Authorization: Bearer %[10]s' %[1]s/v1/clinics/%[3]s/conversations
  curl -s -H 'Authorization: Bearer %[10]s' %[1]s/v1/clinics/%[3]s/conversations/<id>/messages
  curl -s -X POST -H 'Authorization: Bearer %[10]s' -H 'Content-Type: application/json' \
    -d '{"text":"Yes, see you at 10:30","author":"Sam"}' %[1]s/v1/clinics/%[3]s/conversations/<id>/messages

Front-desk console: open %[7]s in a browser and pick a demo staff member on the
development sign-in page (OpenID provider %[8]s):
%[9]s
Ctrl-C stops everything, local servers included.
`, s.APIURL, s.GraphURL, DemoClinicID, cfg.PhoneNumberID, cfg.EHRAPIToken, graph, s.ConsoleURL, s.oidcIssuer(), staffList(), cfg.EHRWriteToken)
}

func (s *Stack) oidcIssuer() string {
	if s.OIDC == nil {
		return "not running"
	}
	return s.OIDC.Issuer()
}

func staffList() string {
	var b strings.Builder
	for _, u := range StaffUsers {
		fmt.Fprintf(&b, "  %-12s %-28s %s\n", u.Name, u.Email, strings.Join(u.Groups, " "))
	}
	return b.String()
}
