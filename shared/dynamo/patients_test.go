package dynamo_test

import (
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/messagelog"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

func TestPatients(t *testing.T) {
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

func TestLastInboundNeverMovesBack(t *testing.T) {
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

func TestAppendConsentIsIdempotent(t *testing.T) {
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

func TestReservePairSlot(t *testing.T) {
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
			return &dynamo.ConditionFailedError{Op: "test", Err: errors.New("must wait")}
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

func TestMessages(t *testing.T) {
	client, names := localtest.Dynamo(t)
	s := dynamo.NewStore(client, names, platform.NewFakeClock(t0), shards)
	ctx := ctxT(t)
	m := messagelog.Record{WAMID: "wamid.M1", Direction: messagelog.Outbound, ClinicID: "clinic-a", PatientID: "pat-1",
		AppointmentID: "a1", ReminderKind: "pre2h", Type: "template", Status: messagelog.StatusAccepted}
	for i, want := range []bool{true, false} {
		created, err := s.PutMessage(ctx, m)
		if err != nil || created != want {
			t.Fatalf("put %d: created %v, %v; want %v", i, created, err, want)
		}
	}
	steps := []struct {
		to   messagelog.Status
		code int
		want bool
		now  messagelog.Status
	}{
		{messagelog.StatusDelivered, 0, true, messagelog.StatusDelivered},
		{messagelog.StatusSent, 0, false, messagelog.StatusDelivered}, // late sent
		{messagelog.StatusFailed, 131026, true, messagelog.StatusFailed},
		{messagelog.StatusRead, 0, false, messagelog.StatusFailed},
		{messagelog.StatusReceived, 0, false, messagelog.StatusFailed},
	}
	for _, st := range steps {
		ok, err := s.AdvanceMessage(ctx, m.WAMID, st.to, t0.Add(time.Minute), st.code)
		if err != nil || ok != st.want {
			t.Fatalf("advance to %s: %v, %v; want %v", st.to, ok, err, st.want)
		}
		got, err := s.GetMessage(ctx, m.WAMID)
		if err != nil || got.Status != st.now {
			t.Fatalf("after %s: %+v, %v", st.to, got, err)
		}
	}
	got, _ := s.GetMessage(ctx, m.WAMID)
	if got.ErrorCode != 131026 || got.AppointmentID != "a1" || !got.CreatedAt.Equal(t0) || !got.UpdatedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("record = %+v", got)
	}
	raw, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(names.Messages), Key: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "MSG#wamid.M1"}, "sk": &types.AttributeValueMemberS{Value: "M"}}})
	if err != nil {
		t.Fatal(err)
	}
	exp, _ := raw.Item[dynamo.AttrExpiresAt].(*types.AttributeValueMemberN)
	if exp == nil || exp.Value != itoa(t0.Add(messagelog.Retention).Unix()) {
		t.Fatalf("expiresAt = %#v, want created + retention in epoch seconds", raw.Item[dynamo.AttrExpiresAt])
	}
	if _, err := s.GetMessage(ctx, "wamid.none"); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("missing message: %v", err)
	}
	if _, err := s.AdvanceMessage(ctx, "wamid.none", messagelog.StatusRead, t0, 0); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("advance of missing message: %v", err)
	}
}

func TestIdempotency(t *testing.T) {
	s, clock := newStore(t)
	ctx := ctxT(t)
	ttl := time.Hour
	resp, err := s.ClaimIdempotency(ctx, "k1", ttl)
	if err != nil || resp != nil {
		t.Fatalf("first claim: %v, %v", resp, err)
	}
	if _, err := s.ClaimIdempotency(ctx, "k1", ttl); !errors.Is(err, dynamo.ErrInProgress) {
		t.Fatalf("claim while in progress: %v, want ErrInProgress", err)
	}
	want := dynamo.IdempotentResponse{Status: 201, ContentType: "application/json", Body: []byte(`{"ok":true}`)}
	if err := s.CompleteIdempotency(ctx, "k1", want, ttl); err != nil {
		t.Fatal(err)
	}
	resp, err = s.ClaimIdempotency(ctx, "k1", ttl)
	if err != nil || resp == nil || resp.Status != 201 || resp.ContentType != want.ContentType || string(resp.Body) != string(want.Body) {
		t.Fatalf("claim after completion: %+v, %v", resp, err)
	}
	if err := s.ReleaseIdempotency(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	if resp, err := s.ClaimIdempotency(ctx, "k1", ttl); err != nil || resp == nil {
		t.Fatalf("release must not drop a completed response: %v, %v", resp, err)
	}

	// A failed first attempt releases the key so the retry processes it.
	if _, err := s.ClaimIdempotency(ctx, "k2", ttl); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseIdempotency(ctx, "k2"); err != nil {
		t.Fatal(err)
	}
	if resp, err := s.ClaimIdempotency(ctx, "k2", ttl); err != nil || resp != nil {
		t.Fatalf("claim after release: %v, %v", resp, err)
	}
	if wins := race(t, 5, func() error {
		_, err := s.ClaimIdempotency(ctxT(t), "k3", ttl)
		if errors.Is(err, dynamo.ErrInProgress) {
			return &dynamo.ConditionFailedError{Op: "test", Err: err}
		}
		return err
	}); wins != 1 {
		t.Fatalf("%d concurrent first claims, want 1", wins)
	}
	// An expired in-progress marker (a crashed holder) no longer blocks, even before TTL deletion.
	clock.Advance(ttl + time.Second)
	if resp, err := s.ClaimIdempotency(ctx, "k2", ttl); err != nil || resp != nil {
		t.Fatalf("claim after expiry: %v, %v", resp, err)
	}
	if err := s.ReleaseIdempotency(ctx, "never-claimed"); err != nil {
		t.Fatalf("release of unknown key: %v", err)
	}
}

func TestClaimOnce(t *testing.T) {
	s, clock := newStore(t)
	ctx := ctxT(t)
	steps := []struct {
		advance time.Duration
		want    bool
	}{{0, true}, {0, false}, {time.Hour, false}, {2 * time.Hour, true}}
	for i, st := range steps {
		clock.Advance(st.advance)
		first, err := s.ClaimOnce(ctx, "status:wamid.X:delivered", 2*time.Hour)
		if err != nil || first != st.want {
			t.Fatalf("step %d: first = %v, %v; want %v", i, first, err, st.want)
		}
	}
	other, err := s.ClaimOnce(ctx, "status:wamid.X:read", time.Hour)
	if err != nil || !other {
		t.Fatalf("other key: %v, %v", other, err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// A message stamped long ago (Meta retried it for days) is kept for the full
// retention from when it was recorded, so its wamid dedupe does not lapse at once.
func TestMessageRetentionRunsFromRecording(t *testing.T) {
	client, names := localtest.Dynamo(t)
	ctx := ctxT(t)
	s := dynamo.NewStore(client, names, platform.NewFakeClock(t0), shards)
	if _, err := s.PutMessage(ctx, messagelog.Record{WAMID: "wamid.OLD", Direction: messagelog.Inbound, ClinicID: "c1",
		Type: "text", Status: messagelog.StatusReceived, CreatedAt: t0.Add(-6 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	raw, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(names.Messages), Key: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "MSG#wamid.OLD"}, "sk": &types.AttributeValueMemberS{Value: "M"}}})
	if err != nil {
		t.Fatal(err)
	}
	exp, _ := raw.Item[dynamo.AttrExpiresAt].(*types.AttributeValueMemberN)
	if exp == nil || exp.Value != itoa(t0.Add(messagelog.Retention).Unix()) {
		t.Fatalf("expiresAt = %#v, want recording time + retention", raw.Item[dynamo.AttrExpiresAt])
	}
}
