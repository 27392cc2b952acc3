package inbox

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/outbound"
)

// recordingReplier keeps the jobs the inbox hands over and sends them on.
type recordingReplier struct {
	next Replier
	mu   sync.Mutex
	jobs []outbound.Job
}

func (r *recordingReplier) SendNow(ctx context.Context, c clinic.Clinic, job outbound.Job, onSent func(context.Context, string)) (string, error) {
	r.mu.Lock()
	r.jobs = append(r.jobs, job)
	r.mu.Unlock()
	return r.next.SendNow(ctx, c, job, onSent)
}

// Every bot reply is one reply job, keyed by the message it answers and carrying
// what the sender re-checks: the window the message opened, the STOP override,
// the patient and the appointment it is about.
func TestRepliesAreReplyJobs(t *testing.T) {
	cases := []struct {
		fixture, patient, appt string
		force                  bool
	}{
		{fixture: "button_confirm_en", patient: "pat-en", appt: "appt-en"},
		{fixture: "keyword_cancel_es", patient: "pat-es", appt: "appt-es"},
		{fixture: "stop_en", patient: "pat-en", force: true},
	}
	for _, c := range cases {
		t.Run(c.fixture, func(t *testing.T) {
			w := newWorld(t)
			rec := &recordingReplier{next: w.svc.Replies}
			w.svc.Replies = rec
			body := fixture(t, c.fixture)
			var payload struct {
				Entry []struct {
					Changes []struct {
						Value struct {
							Messages []struct{ ID string } `json:"messages"`
						} `json:"value"`
					} `json:"changes"`
				} `json:"entry"`
			}
			if err := json.Unmarshal(body, &payload); err != nil || len(payload.Entry) == 0 || len(payload.Entry[0].Changes) == 0 ||
				len(payload.Entry[0].Changes[0].Value.Messages) != 1 {
				t.Fatalf("fixture %s: %v", c.fixture, err)
			}
			wamid := payload.Entry[0].Changes[0].Value.Messages[0].ID
			for range 2 { // Meta delivered it twice
				if n := w.deliver(body); n != 0 {
					t.Fatalf("%d failures", n)
				}
			}
			if len(rec.jobs) != 1 {
				t.Fatalf("%d reply jobs handed over, want 1 (the redelivery is found handled)", len(rec.jobs))
			}
			job := rec.jobs[0]
			if job.Type != outbound.KindReply || job.Key != "reply:"+wamid || job.ClinicID != clinicID || job.PatientID != c.patient ||
				job.AppointmentID != c.appt || job.Force != c.force || job.Message == nil || job.ContactKey == "" ||
				!job.WindowEndsAt.Equal(msgTime.Add(appointment.ServiceWindow)) {
				t.Fatalf("reply job %+v", job)
			}
			if n := len(w.sentMessages()); n != 1 {
				t.Fatalf("%d replies sent, want 1", n)
			}
		})
	}
}
