package waitlist_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/waitlist"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// The waitlist's templates carry the clinic, the date and time on the clinic's
// wall clock in the patient's language where the template has it (appointment_moved
// has no French: the clinic's), the visit-moved one also the place and never the
// practitioner, and the offer's buttons name the clinic, appointment and slot.
func TestWaitlistTemplatesRenderOnTheClinicsWallClock(t *testing.T) {
	c := clinic.Clinic{ID: "clinic-a", Name: "Demo Family Clinic", TimeZone: "America/New_York", DefaultLanguage: "en-US"}
	at := time.Date(2026, 12, 3, 15, 30, 0, 0, time.UTC) // 10:30 in New York
	for _, tc := range []struct {
		name  string
		build func() (whatsapp.Message, error)
		want  string
	}{
		{"offer", func() (whatsapp.Message, error) {
			return waitlist.OfferMessage(c, "+15550100143", "es", waitlist.Offer{Key: "k", ClinicID: "clinic-a", AppointmentID: "appt-1",
				PatientID: "pat-1", SlotID: "slot-9", SlotStart: at, ExpiresAt: at.Add(-time.Hour)})
		}, `{"messaging_product":"whatsapp","recipient_type":"individual","to":"15550100143","type":"template","template":{"name":"waitlist_offer","language":{"policy":"deterministic","code":"es"},"components":[{"type":"body","parameters":[{"type":"text","parameter_name":"clinic","text":"Demo Family Clinic"},{"type":"text","parameter_name":"date","text":"jueves 3 de diciembre"},{"type":"text","parameter_name":"time","text":"10:30"}]},{"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"fd1:offer_accept:clinic-a:appt-1:slot-9"}]},{"type":"button","sub_type":"quick_reply","index":"1","parameters":[{"type":"payload","payload":"fd1:offer_keep:clinic-a:appt-1:slot-9"}]}]}}`},
		{"visit moved", func() (whatsapp.Message, error) {
			return waitlist.MovedMessage(c, "+15550100143", "fr", appointment.Appointment{ClinicID: "clinic-a", ID: "appt-1", Start: at,
				Location:     appointment.Location{Name: "Main office", Address: "1 Main St"},
				Practitioner: appointment.Practitioner{Display: "Dr Example, Cardiology"}})
		}, `{"messaging_product":"whatsapp","recipient_type":"individual","to":"15550100143","type":"template","template":{"name":"appointment_moved","language":{"policy":"deterministic","code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","parameter_name":"clinic","text":"Demo Family Clinic"},{"type":"text","parameter_name":"date","text":"Thursday, December 3"},{"type":"text","parameter_name":"time","text":"10:30 AM"},{"type":"text","parameter_name":"place","text":"Main office, 1 Main St"}]}]}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tc.build()
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("message\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}
