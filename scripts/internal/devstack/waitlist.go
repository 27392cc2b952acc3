package devstack

import (
	"context"
	"log/slog"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/app"
	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
	"github.com/frontdesk-health/frontdesk/shared/slot"
	"github.com/frontdesk-health/frontdesk/shared/waitlist"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// devWaitlist is the reschedule list, holds and waitlist waves of the dev stack.
type devWaitlist struct {
	Desk  *waitlist.Desk
	Sweep *waitlist.Sweep
}

// devClinics are the clinics the dev stack seeds: the waitlist sweep visits them.
var devClinics = []string{DemoClinicID, SecondClinicID}

func newWaitlist(store *dynamo.Store, graph *whatsapp.Client, events queue.EventOutbox, clock platform.Clock, log *slog.Logger) devWaitlist {
	send := &waitlist.GraphSender{Store: store, Messenger: graph, Now: clock.Now, Log: log}
	holds := &waitlist.Service{Store: store, Events: events, Replies: send, Now: clock.Now, Log: log,
		Appointments: func(ctx context.Context, clinicID, id string) (appointment.Appointment, error) {
			a, _, err := store.GetAppointment(ctx, clinicID, id)
			return a, err
		}}
	waves := &waitlist.Waves{Store: store, Appointments: holds.Appointments, OptedOut: send.OptedOut, Offers: send,
		Metrics: app.NewMetrics(store, log, clock), Now: clock.Now, Log: log}
	return devWaitlist{
		Desk: &waitlist.Desk{Service: &waitlist.Service{Store: store, Events: events, Now: clock.Now, Log: log},
			FreeSlots: func(ctx context.Context, clinicID string, from, to time.Time) ([]slot.Slot, error) {
				page, err := store.Slots(ctx, slot.Query{ClinicID: clinicID, From: from, To: to, FreeOnly: true, Limit: 100})
				return page.Slots, err
			},
			OfferExpiry: store.OfferExpiry},
		Sweep: &waitlist.Sweep{Holds: holds, Waves: waves, Clinics: func(ctx context.Context) ([]clinic.Clinic, error) {
			var out []clinic.Clinic
			for _, id := range devClinics {
				c, err := store.GetClinic(ctx, id)
				if err != nil {
					return nil, err
				}
				out = append(out, c)
			}
			return out, nil
		}},
	}
}
