package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

const (
	attrLastInboundAt = "lastInboundAt" // unix ns: compared in conditions
	attrPairNextAt    = "pairNextAt"    // unix ns: compared in conditions
)

type patientItem struct {
	PK            string    `dynamodbav:"pk"`
	SK            string    `dynamodbav:"sk"`
	ClinicID      string    `dynamodbav:"clinicId"`
	PatientID     string    `dynamodbav:"patientId"`
	Phone         string    `dynamodbav:"phone,omitempty"`
	PhoneKey      string    `dynamodbav:"phoneKey,omitempty"`
	GivenName     string    `dynamodbav:"givenName,omitempty"`
	Language      string    `dynamodbav:"language,omitempty"`
	LastInboundAt int64     `dynamodbav:"lastInboundAt,omitempty"`
	PairNextAt    int64     `dynamodbav:"pairNextAt,omitempty"`
	UpdatedAt     time.Time `dynamodbav:"updatedAt,omitempty"`
}

func (it patientItem) domain() appointment.Patient {
	return appointment.Patient{
		ClinicID: it.ClinicID, ID: it.PatientID, Phone: it.Phone, GivenName: it.GivenName, Language: it.Language,
		LastInboundAt: fromUnixNanos(it.LastInboundAt), UpdatedAt: it.UpdatedAt,
	}
}

// consentItem is one ledger line; consentMarker makes AppendConsent idempotent by
// entry id even when a retry carries a different At (and so a different sort key).
type consentItem struct {
	PK         string        `dynamodbav:"pk"`
	SK         string        `dynamodbav:"sk"`
	ClinicID   string        `dynamodbav:"clinicId"`
	PatientID  string        `dynamodbav:"patientId"`
	ID         string        `dynamodbav:"entryId"`
	State      consent.State `dynamodbav:"consent"`
	At         time.Time     `dynamodbav:"at"`
	Source     string        `dynamodbav:"source"`
	Evidence   string        `dynamodbav:"evidence,omitempty"`
	RecordedAt time.Time     `dynamodbav:"recordedAt,omitempty"`
	NotApplied string        `dynamodbav:"notApplied,omitempty"`
}

type consentMarker struct {
	PK      string `dynamodbav:"pk"`
	SK      string `dynamodbav:"sk"`
	EntrySK string `dynamodbav:"entrySk"`
}

// patientOp names an operation for its error: errors end up in logs, so the
// patient id is a keyed digest (platform.Hash) there.
func patientOp(verb, clinicID, patientID string) string {
	return fmt.Sprintf("%s patient %s/%s", verb, clinicID, platform.Hash(patientID))
}

// GetPatient reads a patient's contact record.
func (s *Store) GetPatient(ctx context.Context, clinicID, patientID string) (appointment.Patient, error) {
	op := patientOp("get", clinicID, patientID)
	var it patientItem
	ok, err := s.getItem(ctx, s.names.Patients, patientPK(clinicID, patientID), skPatient, &it)
	if err != nil {
		return appointment.Patient{}, wrap(op, err)
	}
	if !ok {
		return appointment.Patient{}, notFound(op)
	}
	return it.domain(), nil
}

// PutPatient creates or updates a patient's contact fields. It leaves the consent
// ledger and the pacing slot alone and never moves LastInboundAt backwards (an EHR
// update must not close a 24-hour window a patient's message opened).
func (s *Store) PutPatient(ctx context.Context, p appointment.Patient) error {
	op := patientOp("put", p.ClinicID, p.ID)
	if p.ClinicID == "" || p.ID == "" {
		return fmt.Errorf("dynamo: %s: clinic and patient id are required", op)
	}
	upd := expression.Set(expression.Name("clinicId"), expression.Value(p.ClinicID)).
		Set(expression.Name("patientId"), expression.Value(p.ID)).
		Set(expression.Name("updatedAt"), expression.Value(s.now()))
	upd = setOrRemove(upd, "phone", p.Phone, p.Phone != "")
	upd = setOrRemove(upd, AttrPhoneKey, p.ClinicID+"#"+p.Phone, p.Phone != "")
	upd = setOrRemove(upd, "givenName", p.GivenName, p.GivenName != "")
	upd = setOrRemove(upd, "language", p.Language, p.Language != "")
	before, err := s.updateOld(ctx, s.names.Patients, patientPK(p.ClinicID, p.ID), skPatient, upd)
	if err != nil {
		return wrap(op, err)
	}
	oldPhone := ""
	if v, ok := before["phone"].(*types.AttributeValueMemberS); ok {
		oldPhone = v.Value
	}
	// The link is written after the patient: a failure here fails the EHR call, and
	// its retry writes both again.
	if err := s.linkContact(ctx, p.ClinicID, p.ID, oldPhone, p.Phone); err != nil {
		return fmt.Errorf("dynamo: %s: %w", op, err)
	}
	if !p.LastInboundAt.IsZero() {
		if err := s.TouchInbound(ctx, p.ClinicID, p.ID, p.LastInboundAt); err != nil {
			return fmt.Errorf("dynamo: %s: %w", op, err)
		}
	}
	return nil
}

// PatientsByPhone finds a clinic's patients by E.164 number. Families share phones,
// so there can be several.
func (s *Store) PatientsByPhone(ctx context.Context, clinicID, e164 string) ([]appointment.Patient, error) {
	return queryDomain(ctx, s, fmt.Sprintf("patients by phone %s in %s", platform.MaskPhone(e164), clinicID), s.names.Patients, IndexPatientPhone,
		expression.Key(AttrPhoneKey).Equal(expression.Value(clinicID+"#"+e164)), false, patientItem.domain)
}

// TouchInbound records a patient message: lastInboundAt = max(stored, at), so
// webhooks processed out of order cannot shorten the service window.
func (s *Store) TouchInbound(ctx context.Context, clinicID, patientID string, at time.Time) error {
	op := patientOp("touch inbound", clinicID, patientID)
	last := expression.Name(attrLastInboundAt)
	cond := nPK.AttributeExists().And(last.AttributeNotExists().Or(last.LessThan(expression.Value(unixNanos(at)))))
	upd := expression.Set(last, expression.Value(unixNanos(at)))
	_, err := s.advance(ctx, op, s.names.Patients, patientPK(clinicID, patientID), skPatient, upd, cond)
	return err
}

// AppendConsent adds a ledger entry. It is idempotent by e.ID: appending the same
// entry again (a redelivered STOP, a retried EHR call) stores nothing new.
func (s *Store) AppendConsent(ctx context.Context, e consent.Entry) error {
	op := fmt.Sprintf("append consent %s to %s/%s", e.ID, e.ClinicID, platform.Hash(e.PatientID))
	if err := e.Validate(); err != nil {
		return fmt.Errorf("dynamo: %s: %w", op, err)
	}
	if e.ID == "" {
		return fmt.Errorf("dynamo: %s: entry id is required (it makes the append idempotent)", op)
	}
	if e.RecordedAt.IsZero() {
		e.RecordedAt = s.now()
	}
	pk := patientPK(e.ClinicID, e.PatientID)
	entrySK := skConsent + formatSortable(e.At) + "#" + e.ID
	entry, err := marshal(consentItem{PK: pk, SK: entrySK, ClinicID: e.ClinicID, PatientID: e.PatientID, ID: e.ID,
		State: e.State, At: e.At.UTC(), Source: e.Source, Evidence: e.Evidence, RecordedAt: e.RecordedAt.UTC(),
		NotApplied: e.NotApplied})
	if err != nil {
		return fmt.Errorf("dynamo: %s: %w", op, err)
	}
	marker, err := marshal(consentMarker{PK: pk, SK: skConsentMarker + e.ID, EntrySK: entrySK})
	if err != nil {
		return fmt.Errorf("dynamo: %s: %w", op, err)
	}
	notExists := nPK.AttributeNotExists()
	putMarker, err := s.transactPut(s.names.Patients, marker, notExists)
	if err != nil {
		return fmt.Errorf("dynamo: %s: %w", op, err)
	}
	putEntry, err := s.transactPut(s.names.Patients, entry, notExists)
	if err != nil {
		return fmt.Errorf("dynamo: %s: %w", op, err)
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{putMarker, putEntry}})
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) && len(tce.CancellationReasons) > 0 &&
		aws.ToString(tce.CancellationReasons[0].Code) == "ConditionalCheckFailed" {
		return nil // the marker exists: this entry was appended before
	}
	return wrap(op, err)
}

// ConsentLedger returns every consent entry of a patient, in sort-key (At) order.
func (s *Store) ConsentLedger(ctx context.Context, clinicID, patientID string) ([]consent.Entry, error) {
	return queryDomain(ctx, s, patientOp("consent ledger of", clinicID, patientID), s.names.Patients, "",
		partitionPrefix(patientPK(clinicID, patientID), skConsent), true, consentItem.domain)
}

func (it consentItem) domain() consent.Entry {
	return consent.Entry{ClinicID: it.ClinicID, PatientID: it.PatientID, ID: it.ID, State: it.State,
		At: it.At, Source: it.Source, Evidence: it.Evidence, RecordedAt: it.RecordedAt, NotApplied: it.NotApplied}
}

// ReservePairSlot enforces WhatsApp's per-recipient pacing across concurrent
// senders: if the patient's next free slot is at or before now it books now+gap and
// returns 0; otherwise it returns how long the caller must wait.
func (s *Store) ReservePairSlot(ctx context.Context, clinicID, patientID string, now time.Time, gap time.Duration) (time.Duration, error) {
	op := patientOp("reserve pair slot for", clinicID, patientID)
	pk := patientPK(clinicID, patientID)
	next := expression.Name(attrPairNextAt)
	// A few rounds: between a refused reservation and the read, the slot can free up.
	for range 3 {
		cond := nPK.AttributeExists().And(next.AttributeNotExists().Or(next.LessThanEqual(expression.Value(unixNanos(now)))))
		upd := expression.Set(next, expression.Value(unixNanos(now.Add(gap))))
		err := s.update(ctx, s.names.Patients, pk, skPatient, upd, &cond)
		if err == nil {
			return 0, nil
		}
		if !conditionFailed(err) {
			return 0, wrap(op, err)
		}
		var it patientItem
		ok, err := s.getItem(ctx, s.names.Patients, pk, skPatient, &it)
		if err != nil {
			return 0, wrap(op, err)
		}
		if !ok {
			return 0, notFound(op)
		}
		if wait := fromUnixNanos(it.PairNextAt).Sub(now); wait > 0 {
			return wait, nil
		}
	}
	return 0, &ConditionFailedError{Op: op, Err: errors.New("slot kept changing")}
}
