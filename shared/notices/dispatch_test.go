package notices_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/clinic/clinictest"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/notice"
	"github.com/frontdesk-health/frontdesk/shared/notices"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

const clinicID = "clinica-sol"

var newYork = mustZone("America/New_York")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// outbox records what reaches the outbound path; fail makes the next hand-offs fail.
type outbox struct {
	mu    sync.Mutex
	sends []notices.Send
	fail  int
}

func (o *outbox) EnqueueNotice(_ context.Context, s notices.Send) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail > 0 {
		o.fail--
		return errors.New("queue unavailable")
	}
	o.sends = append(o.sends, s)
	return nil
}

func (o *outbox) all() []notices.Send {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]notices.Send(nil), o.sends...)
}

type world struct {
	store  *dynamo.Store
	clock  *platform.FakeClock
	out    *outbox
	events *clinictest.Recorder
	svc    *notices.Service
	disp   *notices.Dispatcher
	clinic clinic.Clinic
}

// newWorld starts at now with a New York clinic (quiet hours 21:00-08:00, a
// portal, a 90-day recall for diabetes reviews, feedback 3 h after a visit) and
// one opted-in patient.
func newWorld(t *testing.T, now time.Time) *world {
	t.Helper()
	client, names := localtest.Dynamo(t)
	clock := platform.NewFakeClock(now)
	store := dynamo.NewStore(client, names, clock, 8)
	w := &world{store: store, clock: clock, out: &outbox{}, events: &clinictest.Recorder{}}
	w.svc = &notices.Service{Store: store, Outbox: w.out, Events: w.events, Clock: clock}
	w.disp = &notices.Dispatcher{Service: w.svc, Due: store, Clinics: store}
	w.clinic = clinic.Clinic{ID: clinicID, Name: "Clinica Sol", TimeZone: "America/New_York", Country: "US",
		PhoneNumberID: "100200300400", DefaultLanguage: "en_US", PortalURL: "https://portal.example.org",
		QuietHours:     reminder.QuietHours{Start: "21:00", End: "08:00"},
		ReminderPolicy: reminder.Policy{RecallAfter: reminder.RecallAfter{"diabetes-review": "90d"}},
		FeedbackAfter:  "3h"}
	ctx := context.Background()
	if err := store.PutClinic(ctx, w.clinic); err != nil {
		t.Fatal(err)
	}
	w.addPatient(t, "pat-1", "+15550100143")
	return w
}

func (w *world) addPatient(t *testing.T, id, phone string) {
	t.Helper()
	ctx := context.Background()
	if err := w.store.PutPatient(ctx, appointment.Patient{ClinicID: clinicID, ID: id, Phone: phone, GivenName: "Maria", Language: "en-US"}); err != nil {
		t.Fatal(err)
	}
	w.setConsent(t, id, consent.OptedIn, "intake-1")
}

func (w *world) setConsent(t *testing.T, patientID string, state consent.State, id string) {
	t.Helper()
	if err := w.store.AppendConsent(context.Background(), consent.Entry{ClinicID: clinicID, PatientID: patientID, ID: id,
		State: state, At: w.clock.Now(), Source: "intake-form", Evidence: "form-1"}); err != nil {
		t.Fatal(err)
	}
}

// visit stores a fulfilled visit of pat-1 that ended at end (local) and runs its plan.
func (w *world) visit(t *testing.T, id, visitType string, end time.Time) appointment.Appointment {
	t.Helper()
	a := appointment.Appointment{ClinicID: clinicID, ID: id, PatientID: "pat-1", Status: appointment.StatusFulfilled,
		Start: end.Add(-30 * time.Minute), Duration: 30 * time.Minute, VisitType: visitType, Version: 1,
		Location: appointment.Location{Name: "Main St"}}
	if err := w.store.SaveAppointment(context.Background(), a, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.Fulfilled(context.Background(), w.clinic, a); err != nil {
		t.Fatal(err)
	}
	return a
}

// dispatchAt runs the dispatcher at local time at and returns the sends it made.
func (w *world) dispatchAt(t *testing.T, at time.Time) []notices.Send {
	t.Helper()
	w.clock.Set(at)
	before := len(w.out.all())
	if _, err := w.disp.Dispatch(context.Background()); err != nil {
		t.Fatalf("dispatch at %s: %v", at, err)
	}
	return w.out.all()[before:]
}

func (w *world) state(t *testing.T, id string) notice.Notice {
	t.Helper()
	return w.stateOf(t, "pat-1", id)
}

func (w *world) stateOf(t *testing.T, patientID, id string) notice.Notice {
	t.Helper()
	n, err := w.store.GetNotice(context.Background(), clinicID, patientID, id)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestScheduledNoticesGoOutWhenTheirTimeComes drives the clock through each way a
// notice waits: accepted in quiet hours (out when they end), a recall (out at
// 10:00 local 14 days before its due date, across the March DST change), a feedback
// question (out the clinic's 3 h after the visit ended). Nothing goes a second
// early, each goes once, and later runs find nothing.
func TestScheduledNoticesGoOutWhenTheirTimeComes(t *testing.T) {
	cases := []struct {
		name     string
		start    time.Time // local
		create   func(t *testing.T, w *world) string
		sendAt   time.Time // local
		template string
	}{
		{
			name:  "accepted in quiet hours",
			start: time.Date(2026, 11, 30, 22, 15, 0, 0, newYork),
			create: func(t *testing.T, w *world) string {
				n, err := w.svc.Create(context.Background(), w.clinic, "pat-1", "msg_quiet_1", notice.Request{Kind: notice.KindLabReady})
				if err != nil {
					t.Fatal(err)
				}
				return n.ID
			},
			sendAt:   time.Date(2026, 12, 1, 8, 0, 0, 0, newYork),
			template: reminder.TemplateNoticeLabReady,
		},
		{
			name:  "recall on its date",
			start: time.Date(2026, 2, 20, 15, 0, 0, 0, newYork),
			create: func(t *testing.T, w *world) string {
				w.clinic.FeedbackAfter = ""
				w.visit(t, "appt-review", "diabetes-review", time.Date(2026, 2, 20, 15, 0, 0, 0, newYork))
				return notice.RecallID(clinicID, "appt-review")
			},
			// Due 2026-05-21 (90 local days), sent 14 days before at 10:00 EDT.
			sendAt:   time.Date(2026, 5, 7, 10, 0, 0, 0, newYork),
			template: reminder.TemplateNoticeRecallDue,
		},
		{
			name:  "feedback after the clinic's delay",
			start: time.Date(2026, 12, 1, 12, 0, 0, 0, newYork),
			create: func(t *testing.T, w *world) string {
				w.visit(t, "appt-visit", "", time.Date(2026, 12, 1, 11, 30, 0, 0, newYork))
				return notice.FeedbackID(clinicID, "appt-visit")
			},
			sendAt:   time.Date(2026, 12, 1, 14, 30, 0, 0, newYork),
			template: reminder.TemplateFeedbackRequest,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, tc.start)
			id := tc.create(t, w)
			if st := w.state(t, id); st.State != notice.StateQueued || !st.NotBefore.Equal(tc.sendAt) {
				t.Fatalf("accepted: %s, not before %s; want queued until %s", st.State, st.NotBefore.In(newYork), tc.sendAt)
			}
			if sends := w.dispatchAt(t, tc.start); len(sends) != 0 {
				t.Fatalf("%d sends at acceptance", len(sends))
			}
			if sends := w.dispatchAt(t, tc.sendAt.Add(-time.Second)); len(sends) != 0 {
				t.Fatalf("%d sends a second early", len(sends))
			}
			sends := w.dispatchAt(t, tc.sendAt)
			if len(sends) != 1 || sends[0].Notice.ID != id || sends[0].Message.Template == nil || sends[0].Message.Template.Name != tc.template {
				t.Fatalf("at %s: sends %+v", tc.sendAt, sends)
			}
			if exp := sends[0].ExpiresAt; !exp.Equal(tc.sendAt.Add(notices.Useful)) {
				t.Errorf("useful until %s, want %s after its time", exp, notices.Useful)
			}
			for _, later := range []time.Duration{time.Minute, notices.DispatchLease + time.Minute, 48 * time.Hour} {
				if sends := w.dispatchAt(t, tc.sendAt.Add(later)); len(sends) != 0 {
					t.Fatalf("sent again %s later", later)
				}
			}
			if evs := w.events.Events(); len(evs) != 0 {
				t.Fatalf("events: %+v", evs)
			}
		})
	}
}

// TestOverlappingDispatchesSendEachNoticeOnce: four dispatchers run at once over
// 30 due notices; each notice reaches the outbox exactly once.
func TestOverlappingDispatchesSendEachNoticeOnce(t *testing.T) {
	start := time.Date(2026, 11, 30, 22, 0, 0, 0, newYork)
	w := newWorld(t, start)
	ids := map[string]bool{}
	for i := range 30 {
		n, err := w.svc.Create(context.Background(), w.clinic, "pat-1", "msg_overlap_"+strconv.Itoa(i), notice.Request{Kind: notice.KindRxReady})
		if err != nil {
			t.Fatal(err)
		}
		ids[n.ID] = true
	}
	w.clock.Set(time.Date(2026, 12, 1, 8, 0, 0, 0, newYork))
	var wg sync.WaitGroup
	stats := make([]notices.DispatchStats, 4)
	for i := range stats {
		wg.Go(func() {
			d := &notices.Dispatcher{Service: w.svc, Due: w.store, Clinics: w.store}
			st, err := d.Dispatch(context.Background())
			if err != nil {
				t.Error(err)
			}
			stats[i] = st
		})
	}
	wg.Wait()
	per := map[string]int{}
	for _, s := range w.out.all() {
		per[s.Notice.ID]++
	}
	handed := 0
	for _, st := range stats {
		handed += st.Handed
	}
	if len(per) != len(ids) || handed != len(ids) {
		t.Fatalf("%d distinct notices sent, %d handed in all; want %d", len(per), handed, len(ids))
	}
	for id, n := range per {
		if n != 1 || !ids[id] {
			t.Fatalf("notice %s sent %d times", id, n)
		}
	}
}

// TestDispatchRechecksAndFailsOnce: at dispatch time the checks of Accept run
// again. A patient who opted out since acceptance, and a recall whose time passed
// while nothing dispatched (longer than it is useful), each fail with exactly one
// message.failed and are never sent; a failed hand-off is tried again after the
// lease; a run settles at most Limit notices and leaves the rest for the next.
func TestDispatchRechecksAndFailsOnce(t *testing.T) {
	start := time.Date(2026, 11, 30, 22, 0, 0, 0, newYork)
	w := newWorld(t, start)
	ctx := context.Background()
	w.addPatient(t, "pat-2", "+15550100144")
	optOut, err := w.svc.Create(ctx, w.clinic, "pat-2", "msg_fail_1", notice.Request{Kind: notice.KindDocumentReady})
	if err != nil {
		t.Fatal(err)
	}
	w.setConsent(t, "pat-2", consent.OptedOut, "stop-1")
	// Its feedback question falls due at midnight, inside quiet hours.
	w.visit(t, "appt-short", "", start.Add(-time.Hour))
	fb := notice.FeedbackID(clinicID, "appt-short")
	if st := w.state(t, fb); st.State != notice.StateQueued {
		t.Fatalf("feedback: %+v", st)
	}

	// 07:59: everything still waits for the end of quiet hours.
	if sends := w.dispatchAt(t, time.Date(2026, 12, 1, 7, 59, 0, 0, newYork)); len(sends) != 0 {
		t.Fatalf("sent in quiet hours: %+v", sends)
	}
	// 08:00, with the queue failing once: nothing handed, the opt-out failed once.
	w.out.fail = 1
	w.disp.Limit = 1
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, newYork)
	w.clock.Set(at)
	failures := 0
	for run := range 3 {
		st, err := w.disp.Dispatch(ctx)
		if err != nil {
			failures++
		}
		if st.Due > 1 {
			t.Fatalf("run %d read %d notices, limit 1", run, st.Due)
		}
	}
	w.disp.Limit = 0
	if failures != 1 {
		t.Fatalf("%d runs reported the failed hand-off, want 1", failures)
	}
	if got := w.stateOf(t, "pat-2", optOut.ID); got.State != notice.StateFailed || got.Reason != notices.ReasonOptedOut {
		t.Fatalf("opted out since: %+v", got)
	}
	if sends := w.out.all(); len(sends) != 0 {
		t.Fatalf("handed despite the queue failing: %+v", sends)
	}
	// After the lease the feedback question is handed on.
	sends := w.dispatchAt(t, at.Add(notices.DispatchLease))
	if len(sends) != 1 || sends[0].Notice.ID != fb {
		t.Fatalf("after the lease: %+v", sends)
	}

	// A recall whose time passed during an outage longer than its usefulness.
	w.clinic.FeedbackAfter = ""
	w.visit(t, "appt-old", "diabetes-review", time.Date(2026, 12, 1, 9, 0, 0, 0, newYork))
	recall := w.state(t, notice.RecallID(clinicID, "appt-old"))
	for _, late := range []time.Duration{notices.Useful + time.Hour, notices.Useful + 2*time.Hour} {
		if sends := w.dispatchAt(t, recall.NotBefore.Add(late)); len(sends) != 0 {
			t.Fatalf("an expired recall was sent: %+v", sends)
		}
	}
	if got := w.state(t, recall.ID); got.State != notice.StateFailed || got.Reason != notices.ReasonExpired {
		t.Fatalf("expired recall: %+v", got)
	}
	failed := map[string]int{}
	for _, e := range w.events.Events() {
		if e.Type == clinic.EventMessageFailed {
			failed[e.Field("noticeId").(string)+"/"+e.Field("reason").(string)]++
		}
	}
	want := map[string]int{optOut.ID + "/" + notices.ReasonOptedOut: 1, recall.ID + "/" + notices.ReasonExpired: 1}
	if len(failed) != len(want) {
		t.Fatalf("message.failed: %v, want %v", failed, want)
	}
	for k, n := range want {
		if failed[k] != n {
			t.Fatalf("message.failed: %v, want %v", failed, want)
		}
	}
}
