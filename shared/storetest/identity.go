package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/contact"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// IdentityStore is what the inbox needs to tell who wrote: BSUIDs mapped to the
// contact they were seen with, number changes carrying patients over (with their
// ledger), and the contact's safety-answer slot.
type IdentityStore interface {
	PutPatient(ctx context.Context, p appointment.Patient) error
	GetContact(ctx context.Context, clinicID, key string) (contact.Contact, error)
	ContactByBSUID(ctx context.Context, clinicID, scope, bsuid string) (contact.Contact, bool, error)
	PatientBSUID(ctx context.Context, clinicID, patientID string) (bsuid, scope string, err error)
	LinkBSUID(ctx context.Context, clinicID, scope, bsuid, parent, key string, at time.Time) error
	AddContactPatients(ctx context.Context, clinicID, key string, patientIDs []string) error
	RecordIdentityChange(ctx context.Context, clinicID, ledgerKey string, ch contact.IdentityChange) error
	IdentityChanges(ctx context.Context, clinicID, ledgerKey string) ([]contact.IdentityChange, error)
	ClaimSafetyAnswer(ctx context.Context, clinicID, key, wamid string, now time.Time, interval time.Duration) (bool, error)
}

// Identity asserts the safety-answer slot (once per interval, a retry keeps it),
// BSUID resolution (newest sighting wins, per clinic and portfolio, stamped on the
// contact's patients), patients carried to a new number, and the identity ledger
// (a change recorded once).
func Identity[S IdentityStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	t.Run("safety answer at most once per interval", func(t *testing.T) { safetyAnswerAtMostOncePerInterval(t, newStore) })
	t.Run("bsuid resolves to the contact it was seen with", func(t *testing.T) { bsuidResolvesToTheContactItWasSeenWith(t, newStore) })
	t.Run("bsuid sighting stamps the contact's patients", func(t *testing.T) { bsuidStampsTheContactsPatients(t, newStore) })
	t.Run("patients carried to a new number", func(t *testing.T) { addContactPatientsCarriesPatients(t, newStore) })
	t.Run("identity change ledger is idempotent", func(t *testing.T) { identityChangeLedgerIsIdempotent(t, newStore) })
	t.Run("invalid identity writes are refused", func(t *testing.T) { invalidIdentityWritesAreRefused(t, newStore) })
}

func safetyAnswerAtMostOncePerInterval[S IdentityStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	s, _ := freshClocked(t, newStore)
	ctx := context.Background()
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
		{"wamid.D", 12 * time.Minute, true}, // a late retry of the holder still holds it
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
	// The retry did not move the interval's start: the slot frees 10 minutes after D.
	if got, _ := s.ClaimSafetyAnswer(ctx, "clinic-a", key, "wamid.G", now.Add(20*time.Minute), contact.SafetyInterval); !got {
		t.Error("a retry of the holder moved the interval's start")
	}
	if c, err := s.GetContact(ctx, "clinic-a", key); err != nil || !c.SafetyAnsweredAt.Equal(now.Add(20*time.Minute)) {
		t.Errorf("contact after the answers: %+v %v", c, err)
	}
	// Another clinic's slot for the same number is its own.
	if got, _ := s.ClaimSafetyAnswer(ctx, "clinic-b", key, "wamid.F", now.Add(11*time.Minute), contact.SafetyInterval); !got {
		t.Error("clinic-b's slot was taken by clinic-a's answer")
	}
}

func bsuidResolvesToTheContactItWasSeenWith[S IdentityStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	s, _ := freshClocked(t, newStore)
	ctx := context.Background()
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
	// A newer sighting beside another number moves the mapping there.
	if err := s.LinkBSUID(ctx, "clinic-a", scope, bsuid, "", "+15550100144", at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if c, mapped, _ := s.ContactByBSUID(ctx, "clinic-a", scope, bsuid); c.Key != "+15550100144" || !mapped || c.ParentBSUID != "" {
		t.Errorf("a newer sighting: %+v %v; want the new number's contact, no parent", c, mapped)
	}
}

// A sighting beside a number stamps the BSUID on the patients already linked to
// it; a username-only contact (keyed by the BSUID) is its own mapping.
func bsuidStampsTheContactsPatients[S IdentityStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	s, _ := freshClocked(t, newStore)
	ctx := context.Background()
	const bsuid, scope = "US.13491208655302741920", "portfolio:300000000000001"
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	for _, id := range []string{"pat-1", "pat-2"} {
		if err := s.PutPatient(ctx, appointment.Patient{ClinicID: "clinic-a", ID: id, Phone: "+15550100145"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.LinkBSUID(ctx, "clinic-a", scope, bsuid, "", "+15550100145", at); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"pat-1", "pat-2"} {
		if got, gotScope, err := s.PatientBSUID(ctx, "clinic-a", id); err != nil || got != bsuid || gotScope != scope {
			t.Errorf("%s: BSUID %q %q %v", id, got, gotScope, err)
		}
	}
	if got, _, err := s.PatientBSUID(ctx, "clinic-a", "nobody"); err != nil || got != "" {
		t.Errorf("a patient never stored: %q %v", got, err)
	}
	const lone = "US.13491208655302741921"
	if err := s.LinkBSUID(ctx, "clinic-a", scope, lone, "", lone, at); err != nil {
		t.Fatal(err)
	}
	c, mapped, err := s.ContactByBSUID(ctx, "clinic-a", scope, lone)
	if err != nil || mapped || c.Key != lone || c.BSUIDIn(scope) != lone {
		t.Errorf("username-only contact: %+v %v %v", c, mapped, err)
	}
}

// A number change carries the person's patients to the new number's contact,
// without touching their phones; adding them again changes nothing.
func addContactPatientsCarriesPatients[S IdentityStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	s, _ := freshClocked(t, newStore)
	ctx := context.Background()
	if err := s.PutPatient(ctx, appointment.Patient{ClinicID: "clinic-a", ID: "pat-3", Phone: "+15550100146"}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.AddContactPatients(ctx, "clinic-a", "+15550100147", []string{"pat-3", "pat-1"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddContactPatients(ctx, "clinic-a", "+15550100148", nil); err != nil {
		t.Fatal(err)
	}
	c, err := s.GetContact(ctx, "clinic-a", "+15550100147")
	if err != nil || !slices.Equal(c.PatientIDs, []string{"pat-1", "pat-3"}) || c.ClinicID != "clinic-a" || c.Key != "+15550100147" {
		t.Fatalf("new number's contact %+v %v", c, err)
	}
	if old, err := s.GetContact(ctx, "clinic-a", "+15550100146"); err != nil || !slices.Equal(old.PatientIDs, []string{"pat-3"}) {
		t.Fatalf("old number's contact %+v %v", old, err)
	}
	if none, err := s.GetContact(ctx, "clinic-a", "+15550100148"); err != nil || len(none.PatientIDs) != 0 {
		t.Fatalf("no patients added: %+v %v", none, err)
	}
}

func identityChangeLedgerIsIdempotent[S IdentityStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	s, clock := freshClocked(t, newStore)
	ctx := context.Background()
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	ch := contact.IdentityChange{ID: "chg-1", Kind: "user_changed_number", FromKey: "+15550100143", ToKey: "+15550100144",
		FromBSUID: "US.1", ToBSUID: "US.2", At: at}
	for range 3 {
		if err := s.RecordIdentityChange(ctx, "clinic-a", "+15550100143", ch); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute) // a redelivery later must not rewrite when it was recorded
	}
	got, err := s.IdentityChanges(ctx, "clinic-a", "+15550100143")
	if err != nil || len(got) != 1 || got[0].ToKey != "+15550100144" || got[0].ToBSUID != "US.2" || !got[0].At.Equal(at) ||
		!got[0].RecordedAt.Equal(slotT0) {
		t.Fatalf("ledger = %+v, %v; want the one change", got, err)
	}
	// Another change joins the ledger in id order; another contact's ledger is its own.
	second := contact.IdentityChange{ID: "chg-0", Kind: "user_changed_user_id", FromBSUID: "US.2", ToBSUID: "US.3", At: at.Add(time.Hour)}
	if err := s.RecordIdentityChange(ctx, "clinic-a", "+15550100143", second); err != nil {
		t.Fatal(err)
	}
	got, err = s.IdentityChanges(ctx, "clinic-a", "+15550100143")
	if err != nil || len(got) != 2 || got[0].ID != "chg-0" || got[1].ID != "chg-1" {
		t.Fatalf("ledger = %+v, %v; want chg-0 then chg-1", got, err)
	}
	if other, err := s.IdentityChanges(ctx, "clinic-a", "+15550100144"); err != nil || len(other) != 0 {
		t.Fatalf("another contact's ledger = %+v, %v", other, err)
	}
	// The contact item beside the ledger is unaffected.
	if c, err := s.GetContact(ctx, "clinic-a", "+15550100143"); err != nil || c.OptedOut() {
		t.Fatalf("contact %+v %v", c, err)
	}
}

func invalidIdentityWritesAreRefused[S IdentityStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	s, _ := freshClocked(t, newStore)
	ctx := context.Background()
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	for name, err := range map[string]error{
		"link without bsuid":      s.LinkBSUID(ctx, "clinic-a", "portfolio:1", "", "", "+15550100143", at),
		"link without key":        s.LinkBSUID(ctx, "clinic-a", "portfolio:1", "US.1", "", "", at),
		"link without scope":      s.LinkBSUID(ctx, "clinic-a", "", "US.1", "", "+15550100143", at),
		"change without id":       s.RecordIdentityChange(ctx, "clinic-a", "+15550100143", contact.IdentityChange{Kind: "user_changed_number"}),
		"change without its kind": s.RecordIdentityChange(ctx, "clinic-a", "+15550100143", contact.IdentityChange{ID: "chg-9"}),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if got, err := s.IdentityChanges(ctx, "clinic-a", "+15550100143"); err != nil || len(got) != 0 {
		t.Fatalf("ledger after refused writes: %+v %v", got, err)
	}
}
