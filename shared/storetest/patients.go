package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// Patients asserts patients and their contacts: profiles and phone lookups,
// last inbound never moving back, the idempotent consent ledger, pair pacing with
// one winner, contacts linking patients by canonical number, the newest consent
// statement winning, and errors naming people by digest only.
func Patients[S PatientStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	open := func(t *testing.T) (PatientStore, *platform.FakeClock) {
		clock := platform.NewFakeClock(t0)
		return newStore(t, clock), clock
	}
	t.Run("patients", func(t *testing.T) { patients(t, open) })
	t.Run("lastInboundNeverMovesBack", func(t *testing.T) { lastInboundNeverMovesBack(t, open) })
	t.Run("appendConsentIsIdempotent", func(t *testing.T) { appendConsentIsIdempotent(t, open) })
	t.Run("reservePairSlot", func(t *testing.T) { reservePairSlot(t, open) })
	t.Run("contactLinksPatientsByCanonicalNumber", func(t *testing.T) { contactLinksPatientsByCanonicalNumber(t, open) })
	t.Run("contactConsentKeepsTheNewestStatement", func(t *testing.T) { contactConsentKeepsTheNewestStatement(t, open) })
	t.Run("patientAndContactErrorsCarryDigestsOnly", func(t *testing.T) { patientAndContactErrorsCarryDigestsOnly(t, open) })
	t.Run("contactsReadAreTheCallersOwn", func(t *testing.T) { contactsReadAreTheCallersOwn(t, open) })
	t.Run("ledgersStayWithTheirPatient", func(t *testing.T) { ledgersStayWithTheirPatient(t, open) })
}

func patients(t *testing.T, newStore func(*testing.T) (PatientStore, *platform.FakeClock)) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	p := appointment.Patient{ClinicID: "clinic-a", ID: "pat-1", Phone: "+15550100101", GivenName: "Ada", Language: "en"}
	if err := s.PutPatient(ctx, p); err != nil {
		t.Fatal(err)
	}
	sibling := appointment.Patient{ClinicID: "clinic-a", ID: "pat-2", Phone: "+15550100101", GivenName: "Ben"}
	if err := s.PutPatient(ctx, sibling); err != nil {
		t.Fatal(err)
	}
	elsewhere := appointment.Patient{ClinicID: "clinic-b", ID: "pat-9", Phone: "+15550100101"}
	if err := s.PutPatient(ctx, elsewhere); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetPatient(ctx, "clinic-a", "pat-1")
	if err != nil || got.Phone != p.Phone || got.GivenName != "Ada" || got.Language != "en" || !got.LastInboundAt.IsZero() {
		t.Fatalf("GetPatient = %+v, %v", got, err)
	}
	byPhone := func() []string {
		ps, err := s.PatientsByPhone(ctx, "clinic-a", "+15550100101")
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, p := range ps {
			ids = append(ids, p.ID)
		}
		slices.Sort(ids)
		return ids
	}
	if ids := byPhone(); !slices.Equal(ids, []string{"pat-1", "pat-2"}) {
		t.Fatalf("PatientsByPhone = %v", ids)
	}
	sibling.Phone = "+15550100102" // moved to their own number
	if err := s.PutPatient(ctx, sibling); err != nil {
		t.Fatal(err)
	}
	if ids := byPhone(); !slices.Equal(ids, []string{"pat-1"}) {
		t.Fatalf("after number change PatientsByPhone = %v", ids)
	}
	if _, err := s.GetPatient(ctx, "clinic-a", "nope"); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("missing patient: %v", err)
	}
}

func lastInboundNeverMovesBack(t *testing.T, newStore func(*testing.T) (PatientStore, *platform.FakeClock)) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	p := appointment.Patient{ClinicID: "clinic-a", ID: "pat-1", Phone: "+15550100101"}
	if err := s.PutPatient(ctx, p); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		touch func(at time.Time) error
		at    time.Time
		want  time.Time
	}{
		{func(at time.Time) error { return s.TouchInbound(ctx, "clinic-a", "pat-1", at) }, t0.Add(123 * time.Millisecond), t0.Add(123 * time.Millisecond)},
		{func(at time.Time) error { return s.TouchInbound(ctx, "clinic-a", "pat-1", at) }, t0.Add(-time.Hour), t0.Add(123 * time.Millisecond)},
		{func(at time.Time) error { q := p; q.LastInboundAt = at; return s.PutPatient(ctx, q) }, t0.Add(-2 * time.Hour), t0.Add(123 * time.Millisecond)},
		{func(at time.Time) error { return s.PutPatient(ctx, p) }, time.Time{}, t0.Add(123 * time.Millisecond)},
		{func(at time.Time) error { q := p; q.LastInboundAt = at; return s.PutPatient(ctx, q) }, t0.Add(time.Hour), t0.Add(time.Hour)},
	}
	for i, st := range steps {
		if err := st.touch(st.at); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		got, err := s.GetPatient(ctx, "clinic-a", "pat-1")
		if err != nil || !got.LastInboundAt.Equal(st.want) {
			t.Fatalf("step %d: lastInboundAt = %v, want %v (%v)", i, got.LastInboundAt, st.want, err)
		}
	}
	if err := s.TouchInbound(ctx, "clinic-a", "nope", t0); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("touch of missing patient: %v, want ErrNotFound", err)
	}
}

func appendConsentIsIdempotent(t *testing.T, newStore func(*testing.T) (PatientStore, *platform.FakeClock)) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	in := consent.Entry{ClinicID: "clinic-a", PatientID: "pat-1", ID: "e1", State: consent.OptedIn, At: t0, Source: consent.SourceEHR}
	out := consent.Entry{ClinicID: "clinic-a", PatientID: "pat-1", ID: "wamid.STOP1", State: consent.OptedOut, At: t0.Add(time.Hour), Source: consent.SourceWhatsApp, Evidence: "STOP"}
	for _, e := range []consent.Entry{in, out, out, in} {
		if err := s.AppendConsent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	retried := out
	retried.At = out.At.Add(time.Second) // a retry that re-stamped the time is still the same entry
	if err := s.AppendConsent(ctx, retried); err != nil {
		t.Fatal(err)
	}
	ledger, err := s.ConsentLedger(ctx, "clinic-a", "pat-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(ledger) != 2 || ledger[0].ID != "e1" || ledger[1].ID != "wamid.STOP1" || ledger[1].Evidence != "STOP" ||
		!ledger[1].At.Equal(out.At) || ledger[0].RecordedAt.IsZero() {
		t.Fatalf("ledger = %+v", ledger)
	}
	if consent.Current(ledger) != consent.OptedOut {
		t.Fatalf("current = %s", consent.Current(ledger))
	}
	if err := s.AppendConsent(ctx, consent.Entry{ClinicID: "clinic-a", PatientID: "pat-1", State: consent.OptedIn, At: t0, Source: "ehr"}); err == nil {
		t.Fatal("an entry without id must be refused")
	}
	// The ledger lives beside the profile without disturbing it.
	if _, err := s.GetPatient(ctx, "clinic-a", "pat-1"); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("consent entries must not create a profile: %v", err)
	}
}

func reservePairSlot(t *testing.T, newStore func(*testing.T) (PatientStore, *platform.FakeClock)) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	if err := s.PutPatient(ctx, appointment.Patient{ClinicID: "clinic-a", ID: "pat-1", Phone: "+15550100101"}); err != nil {
		t.Fatal(err)
	}
	gap := 6 * time.Second
	steps := []struct {
		now  time.Time
		want time.Duration
	}{
		{t0, 0},
		{t0.Add(time.Second), 5 * time.Second},
		{t0.Add(gap), 0},
		{t0.Add(gap + 500*time.Millisecond), gap - 500*time.Millisecond},
	}
	for i, st := range steps {
		wait, err := s.ReservePairSlot(ctx, "clinic-a", "pat-1", st.now, gap)
		if err != nil || wait != st.want {
			t.Fatalf("step %d: wait %v, %v; want %v", i, wait, err, st.want)
		}
	}
	later := t0.Add(time.Hour)
	booked := race(t, 5, func() error {
		wait, err := s.ReservePairSlot(ctxT(t), "clinic-a", "pat-1", later, gap)
		if err == nil && wait > 0 {
			return fault.Wrap(fault.Conflict, "test", errors.New("must wait"))
		}
		return err
	})
	if booked != 1 {
		t.Fatalf("%d concurrent senders got the slot, want 1", booked)
	}
	wait, err := s.ReservePairSlot(ctx, "clinic-a", "pat-1", later, gap)
	if err != nil || wait != gap {
		t.Fatalf("after the race the slot must be booked for exactly one gap: %v, %v", wait, err)
	}
	if _, err := s.ReservePairSlot(ctx, "clinic-a", "nope", t0, gap); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("missing patient: %v", err)
	}
}

func contactLinksPatientsByCanonicalNumber(t *testing.T, newStore func(*testing.T) (PatientStore, *platform.FakeClock)) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	// The EHR holds one family phone in two forms; WhatsApp writes from a third.
	for _, p := range []appointment.Patient{
		{ClinicID: "clinic-a", ID: "pat-mom", Phone: "+525550100143"},
		{ClinicID: "clinic-a", ID: "pat-kid", Phone: "+5215550100143"},
		{ClinicID: "clinic-b", ID: "pat-other-clinic", Phone: "+525550100143"},
	} {
		if err := s.PutPatient(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	c, err := s.GetContact(ctx, "clinic-a", "+525550100143")
	if err != nil || !slices.Equal(c.PatientIDs, []string{"pat-kid", "pat-mom"}) {
		t.Fatalf("contact = %+v, %v; want both family members", c, err)
	}
	// The child gets their own phone: the link moves.
	if err := s.PutPatient(ctx, appointment.Patient{ClinicID: "clinic-a", ID: "pat-kid", Phone: "+15550100144"}); err != nil {
		t.Fatal(err)
	}
	c, _ = s.GetContact(ctx, "clinic-a", "+525550100143")
	moved, _ := s.ContactOfPhone(ctx, "clinic-a", "+15550100144")
	if !slices.Equal(c.PatientIDs, []string{"pat-mom"}) || !slices.Equal(moved.PatientIDs, []string{"pat-kid"}) {
		t.Fatalf("after the move: family %v, new phone %v", c.PatientIDs, moved.PatientIDs)
	}
	none, err := s.GetContact(ctx, "clinic-a", "+15550100199")
	if err != nil || none.Key != "+15550100199" || none.OptedOut() || len(none.PatientIDs) != 0 {
		t.Fatalf("unknown number = %+v, %v; want an empty contact", none, err)
	}
}

func contactConsentKeepsTheNewestStatement(t *testing.T, newStore func(*testing.T) (PatientStore, *platform.FakeClock)) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	key := "+15550100143"
	st := func(id string, state consent.State, d time.Duration) consent.Entry {
		return consent.Entry{ClinicID: "clinic-a", PatientID: "-", ID: id, State: state, At: at.Add(d), Source: consent.SourceWhatsApp, Evidence: "msg_" + id}
	}
	steps := []struct {
		e       consent.Entry
		applied bool
		out     bool
	}{
		{st("stop-1", consent.OptedOut, 0), true, true},
		{st("stop-1", consent.OptedOut, 0), true, true},               // a retry of the same message
		{st("start-old", consent.OptedIn, -time.Minute), false, true}, // older, delivered late
		{st("start-2", consent.OptedIn, time.Minute), true, false},
		{st("stop-1", consent.OptedOut, 0), false, false}, // the old STOP redelivered after START: START stands
	}
	for i, step := range steps {
		applied, err := s.RecordContactConsent(ctx, "clinic-a", key, step.e)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := s.GetContact(ctx, "clinic-a", key)
		if applied != step.applied || c.OptedOut() != step.out {
			t.Errorf("step %d (%s): applied %v opted out %v; want %v %v", i, step.e.ID, applied, c.OptedOut(), step.applied, step.out)
		}
	}
}

// Errors end up in logs: they name patients and contacts by keyed digest only.
func patientAndContactErrorsCarryDigestsOnly(t *testing.T, newStore func(*testing.T) (PatientStore, *platform.FakeClock)) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	_, err := s.GetPatient(ctx, "clinic-a", "pat-secret-7")
	if err == nil || strings.Contains(err.Error(), "pat-secret-7") {
		t.Errorf("GetPatient error %v names the patient", err)
	}
	err = s.AppendConsent(ctx, consent.Entry{ClinicID: "clinic-a", PatientID: "pat-secret-7", State: consent.OptedIn, At: time.Now(), Source: "ehr"})
	if err == nil || strings.Contains(err.Error(), "pat-secret-7") {
		t.Errorf("AppendConsent error %v names the patient", err)
	}
	_, err = s.RecordContactConsent(ctx, "clinic-a", "+15550100143", consent.Entry{})
	if err == nil || strings.Contains(err.Error(), "5550100143") {
		t.Errorf("RecordContactConsent error %v names the number", err)
	}
}

// A caller that changes a contact it read (its patient list, its consent) changes
// nothing stored.
func contactsReadAreTheCallersOwn(t *testing.T, newStore func(*testing.T) (PatientStore, *platform.FakeClock)) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	for _, id := range []string{"pat-1", "pat-2"} {
		if err := s.PutPatient(ctx, appointment.Patient{ClinicID: "clinic-a", ID: id, Phone: "+15550100145"}); err != nil {
			t.Fatal(err)
		}
	}
	e := consent.Entry{ClinicID: "clinic-a", PatientID: "-", ID: "stop-1", State: consent.OptedOut, At: t0, Source: consent.SourceWhatsApp}
	if _, err := s.RecordContactConsent(ctx, "clinic-a", "+15550100145", e); err != nil {
		t.Fatal(err)
	}
	c, err := s.GetContact(ctx, "clinic-a", "+15550100145")
	if err != nil || len(c.PatientIDs) != 2 || c.Consent == nil {
		t.Fatalf("contact = %+v, %v", c, err)
	}
	c.PatientIDs[0] = "pat-x"
	c.Consent.State = consent.OptedIn
	again, err := s.GetContact(ctx, "clinic-a", "+15550100145")
	if err != nil || !slices.Equal(again.PatientIDs, []string{"pat-1", "pat-2"}) || !again.OptedOut() {
		t.Fatalf("after the caller changed its copy: %+v, %v", again, err)
	}
}

// A patient's ledger holds its own entries only, whatever ids its neighbours have
// (one id a prefix of another, the same id in another clinic).
func ledgersStayWithTheirPatient(t *testing.T, newStore func(*testing.T) (PatientStore, *platform.FakeClock)) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	for i, owner := range [][2]string{{"clinic-a", "pat-1"}, {"clinic-a", "pat-10"}, {"clinic-ab", "pat-1"}, {"clinic-a", "pat-1"}} {
		e := consent.Entry{ClinicID: owner[0], PatientID: owner[1], ID: fmt.Sprintf("e%d", i), State: consent.OptedIn,
			At: t0.Add(time.Duration(i) * time.Minute), Source: consent.SourceEHR}
		if err := s.AppendConsent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	ledger, err := s.ConsentLedger(ctx, "clinic-a", "pat-1")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range ledger {
		ids = append(ids, e.ID)
	}
	if !slices.Equal(ids, []string{"e0", "e3"}) {
		t.Fatalf("ledger of clinic-a/pat-1 = %v, want [e0 e3]", ids)
	}
}
