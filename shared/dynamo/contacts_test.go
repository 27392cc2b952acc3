package dynamo_test

import (
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/contact"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
)

func TestSafetyAnswerAtMostOncePerInterval(t *testing.T) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	key := "+15550100143"
	steps := []struct {
		wamid string
		at    time.Duration
		want  bool
	}{
		{"wamid.A", 0, true},
		{"wamid.A", time.Second, true},  // the same message retried keeps its slot
		{"wamid.B", time.Minute, false}, // another message within the interval
		{"wamid.C", 9*time.Minute + 59*time.Second, false},
		{"wamid.D", 10 * time.Minute, true}, // the interval has passed
		{"wamid.E", 11 * time.Minute, false},
	}
	for _, step := range steps {
		got, err := s.ClaimSafetyAnswer(ctx, "clinic-a", key, step.wamid, now.Add(step.at), contact.SafetyInterval)
		if err != nil {
			t.Fatal(err)
		}
		if got != step.want {
			t.Errorf("%s at +%s: claimed %v, want %v", step.wamid, step.at, got, step.want)
		}
	}
	// Another clinic's slot for the same number is its own.
	if got, _ := s.ClaimSafetyAnswer(ctx, "clinic-b", key, "wamid.F", now.Add(11*time.Minute), contact.SafetyInterval); !got {
		t.Error("clinic-b's slot was taken by clinic-a's answer")
	}
}

// A BSUID seen beside a number resolves to that number's contact with one GetItem,
// only in the portfolio it was seen in; the newest sighting wins; the patients on
// the number keep it after the EHR removes their phone.
func TestBSUIDResolvesToTheContactItWasSeenWith(t *testing.T) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	const bsuid, scope = "US.13491208655302741918", "portfolio:300000000000001"
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	if err := s.PutPatient(ctx, appointment.Patient{ClinicID: "clinic-a", ID: "pat-1", Phone: "+15550100143"}); err != nil {
		t.Fatal(err)
	}
	c, mapped, err := s.ContactByBSUID(ctx, "clinic-a", scope, bsuid)
	if err != nil || mapped || c.Key != bsuid || !c.ByBSUID() {
		t.Fatalf("before any sighting: %+v %v %v; want the BSUID's own empty contact", c, mapped, err)
	}
	if err := s.LinkBSUID(ctx, "clinic-a", scope, bsuid, "US.ENT.11815799212886844830", "+15550100143", at); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, clinic, scope string
		wantKey             string
		wantMapped          bool
	}{
		{"same clinic and portfolio", "clinic-a", scope, "+15550100143", true},
		{"another portfolio", "clinic-a", "portfolio:300000000000009", bsuid, false},
		{"another clinic", "clinic-b", scope, bsuid, false},
	}
	for _, tc := range cases {
		c, mapped, err := s.ContactByBSUID(ctx, tc.clinic, tc.scope, bsuid)
		if err != nil || mapped != tc.wantMapped || c.Key != tc.wantKey {
			t.Errorf("%s: %+v %v %v; want key %s mapped %v", tc.name, c, mapped, err, tc.wantKey, tc.wantMapped)
		}
	}
	c, _, _ = s.ContactByBSUID(ctx, "clinic-a", scope, bsuid)
	if c.BSUIDIn(scope) != bsuid || c.BSUIDIn("portfolio:300000000000009") != "" || c.ParentBSUID == "" {
		t.Errorf("contact BSUID %+v", c)
	}
	// An older sighting beside another number (a late redelivery) does not move it.
	if err := s.LinkBSUID(ctx, "clinic-a", scope, bsuid, "", "+15550100199", at.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if c, _, _ := s.ContactByBSUID(ctx, "clinic-a", scope, bsuid); c.Key != "+15550100143" {
		t.Errorf("an older sighting moved the mapping to %s", c.Key)
	}
	// A patient the EHR adds on the number later gets the BSUID too.
	if err := s.PutPatient(ctx, appointment.Patient{ClinicID: "clinic-a", ID: "pat-2", Phone: "+15550100143"}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.PatientBSUID(ctx, "clinic-a", "pat-2"); got != bsuid {
		t.Errorf("a patient added on the number has BSUID %q, want it", got)
	}
	// The EHR removes the phone: the patient keeps the BSUID for sends by recipient.
	if err := s.PutPatient(ctx, appointment.Patient{ClinicID: "clinic-a", ID: "pat-1"}); err != nil {
		t.Fatal(err)
	}
	got, gotScope, err := s.PatientBSUID(ctx, "clinic-a", "pat-1")
	if err != nil || got != bsuid || gotScope != scope {
		t.Errorf("patient BSUID = %q %q %v", got, gotScope, err)
	}
}

func TestIdentityChangeLedgerIsIdempotent(t *testing.T) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	ch := dynamo.IdentityChange{ID: "chg-1", Kind: "user_changed_number", FromKey: "+15550100143", ToKey: "+15550100144",
		FromBSUID: "US.1", ToBSUID: "US.2", At: at}
	for range 3 {
		if err := s.RecordIdentityChange(ctx, "clinic-a", "+15550100143", ch); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.IdentityChanges(ctx, "clinic-a", "+15550100143")
	if err != nil || len(got) != 1 || got[0].ToKey != "+15550100144" || got[0].ToBSUID != "US.2" || !got[0].At.Equal(at) {
		t.Fatalf("ledger = %+v, %v; want the one change", got, err)
	}
	// The contact item beside the ledger is unaffected.
	if c, err := s.GetContact(ctx, "clinic-a", "+15550100143"); err != nil || c.OptedOut() {
		t.Fatalf("contact %+v %v", c, err)
	}
}
