package dynamo

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/contact"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// Contacts live in the patients table (same retention class, same key schema, no
// new index): pk CONTACT#<clinic>#<key>, sk K. They are read by key only.
const (
	prefixContact = "CONTACT#"
	skContact     = "K"

	attrContactPatients = "patientIds"
	attrConsentAt       = "consentAt" // unix ns: compared in conditions
	attrConsentID       = "consentId"
	attrSafetyAt        = "safetyAt" // unix ns: compared in conditions
	attrSafetyWAMID     = "safetyWamid"
)

func contactPK(clinicID, key string) string { return prefixContact + clinicID + "#" + key }

type contactItem struct {
	PK                string        `dynamodbav:"pk"`
	SK                string        `dynamodbav:"sk"`
	ClinicID          string        `dynamodbav:"clinicId"`
	Key               string        `dynamodbav:"contactKey"`
	PatientIDs        []string      `dynamodbav:"patientIds,stringset,omitempty"`
	ConsentID         string        `dynamodbav:"consentId,omitempty"`
	ConsentState      consent.State `dynamodbav:"consentState,omitempty"`
	ConsentAt         int64         `dynamodbav:"consentAt,omitempty"`
	ConsentSource     string        `dynamodbav:"consentSource,omitempty"`
	ConsentEvidence   string        `dynamodbav:"consentEvidence,omitempty"`
	ConsentRecordedAt time.Time     `dynamodbav:"consentRecordedAt,omitempty"`
	SafetyAt          int64         `dynamodbav:"safetyAt,omitempty"`
	BSUID             string        `dynamodbav:"bsuid,omitempty"`
	ParentBSUID       string        `dynamodbav:"parentBsuid,omitempty"`
	BSUIDScope        string        `dynamodbav:"bsuidScope,omitempty"`
}

func (it contactItem) domain() contact.Contact {
	c := contact.Contact{ClinicID: it.ClinicID, Key: it.Key, PatientIDs: it.PatientIDs, SafetyAnsweredAt: fromUnixNanos(it.SafetyAt),
		BSUID: it.BSUID, ParentBSUID: it.ParentBSUID, BSUIDScope: it.BSUIDScope}
	sort.Strings(c.PatientIDs)
	if it.ConsentState != "" {
		c.Consent = &consent.Entry{ClinicID: it.ClinicID, PatientID: it.Key, ID: it.ConsentID, State: it.ConsentState, At: fromUnixNanos(it.ConsentAt),
			Source: it.ConsentSource, Evidence: it.ConsentEvidence, RecordedAt: it.ConsentRecordedAt}
	}
	return c
}

func contactOp(verb, clinicID, key string) string {
	return fmt.Sprintf("%s contact %s/%s", verb, clinicID, platform.Hash(key))
}

// GetContact reads a contact by its key (contact.KeyOf). A number that never wrote
// and no patient uses is an empty contact, not an error.
func (s *Store) GetContact(ctx context.Context, clinicID, key string) (contact.Contact, error) {
	var it contactItem
	ok, err := s.getItem(ctx, s.names.Patients, contactPK(clinicID, key), skContact, &it)
	if err != nil {
		return contact.Contact{}, wrap(contactOp("get", clinicID, key), err)
	}
	if !ok {
		return contact.Contact{ClinicID: clinicID, Key: key}, nil
	}
	return it.domain(), nil
}

// ContactOfPhone reads the contact a patient's phone belongs to; a phone that is not
// a possible number has none.
func (s *Store) ContactOfPhone(ctx context.Context, clinicID, phone string) (contact.Contact, error) {
	key, err := contact.KeyOf(phone)
	if err != nil {
		return contact.Contact{ClinicID: clinicID}, nil
	}
	return s.GetContact(ctx, clinicID, key)
}

// RecordContactConsent stores a WhatsApp statement (STOP / START) on the contact when
// it is newer than the one stored (or is the stored one again, for a retry). It
// reports whether the contact now holds it: false means a newer statement stands.
func (s *Store) RecordContactConsent(ctx context.Context, clinicID, key string, e consent.Entry) (bool, error) {
	op := contactOp("record consent on", clinicID, key)
	if err := e.Validate(); err != nil || e.ID == "" {
		return false, fmt.Errorf("dynamo: %s: invalid entry (id %q): %v", op, e.ID, err)
	}
	if e.RecordedAt.IsZero() {
		e.RecordedAt = s.now()
	}
	at := expression.Name(attrConsentAt)
	cond := at.AttributeNotExists().Or(at.LessThan(expression.Value(unixNanos(e.At)))).
		Or(expression.Name(attrConsentID).Equal(expression.Value(e.ID)))
	upd := expression.Set(expression.Name("clinicId"), expression.Value(clinicID)).
		Set(expression.Name("contactKey"), expression.Value(key)).
		Set(expression.Name(attrConsentID), expression.Value(e.ID)).
		Set(expression.Name("consentState"), expression.Value(e.State)).
		Set(at, expression.Value(unixNanos(e.At))).
		Set(expression.Name("consentSource"), expression.Value(e.Source)).
		Set(expression.Name("consentRecordedAt"), expression.Value(e.RecordedAt.UTC()))
	upd = setOrRemove(upd, "consentEvidence", e.Evidence, e.Evidence != "")
	err := s.update(ctx, s.names.Patients, contactPK(clinicID, key), skContact, upd, &cond)
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, wrap(op, err)
	}
	return true, nil
}

// ClaimSafetyAnswer takes the contact's safety-answer slot for the message wamid: it
// succeeds when no safety answer went to the number in the last interval, or when
// this message already holds the slot (a retry of the same message). The slot is a
// conditional write, so concurrent inbound workers send one answer between them.
func (s *Store) ClaimSafetyAnswer(ctx context.Context, clinicID, key, wamid string, now time.Time, interval time.Duration) (bool, error) {
	op := contactOp("claim safety answer on", clinicID, key)
	last := expression.Name(attrSafetyAt)
	cond := last.AttributeNotExists().Or(last.LessThanEqual(expression.Value(unixNanos(now.Add(-interval)))))
	upd := expression.Set(expression.Name("clinicId"), expression.Value(clinicID)).
		Set(expression.Name("contactKey"), expression.Value(key)).
		Set(last, expression.Value(unixNanos(now))).
		Set(expression.Name(attrSafetyWAMID), expression.Value(wamid))
	err := s.update(ctx, s.names.Patients, contactPK(clinicID, key), skContact, upd, &cond)
	if err == nil {
		return true, nil
	}
	if !conditionFailed(err) {
		return false, wrap(op, err)
	}
	// A retry of the message holding the slot keeps it, without moving the
	// interval's start (that would let a stream of retries block answers forever).
	var it struct {
		WAMID string `dynamodbav:"safetyWamid"`
	}
	if _, err := s.getItem(ctx, s.names.Patients, contactPK(clinicID, key), skContact, &it); err != nil {
		return false, wrap(op, err)
	}
	return it.WAMID == wamid, nil
}

// linkContact moves a patient's link from the contact of its old phone to the one of
// its new phone. Either may be empty.
func (s *Store) linkContact(ctx context.Context, clinicID, patientID, oldPhone, newPhone string) error {
	oldKey, oldErr := contact.KeyOf(oldPhone)
	newKey, newErr := contact.KeyOf(newPhone)
	if oldErr == nil && (newErr != nil || oldKey != newKey) {
		upd := expression.Delete(expression.Name(attrContactPatients), expression.Value(&types.AttributeValueMemberSS{Value: []string{patientID}}))
		cond := nPK.AttributeExists()
		if err := s.update(ctx, s.names.Patients, contactPK(clinicID, oldKey), skContact, upd, &cond); err != nil && !conditionFailed(err) {
			return wrap(contactOp("unlink patient from", clinicID, oldKey), err)
		}
	}
	if newErr != nil {
		return nil
	}
	upd := expression.Set(expression.Name("clinicId"), expression.Value(clinicID)).
		Set(expression.Name("contactKey"), expression.Value(newKey)).
		Add(expression.Name(attrContactPatients), expression.Value(&types.AttributeValueMemberSS{Value: []string{patientID}}))
	ex, err := expression.NewBuilder().WithUpdate(upd).Build()
	if err != nil {
		return wrap(contactOp("link patient to", clinicID, newKey), err)
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.names.Patients), Key: itemKey(contactPK(clinicID, newKey), skContact), UpdateExpression: ex.Update(),
		ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(), ReturnValues: types.ReturnValueAllNew,
	})
	if err != nil {
		return wrap(contactOp("link patient to", clinicID, newKey), err)
	}
	// A BSUID Meta already showed beside the number reaches the patient the EHR adds
	// on it, so a reminder can still go out by BSUID if the phone is later removed.
	var it contactItem
	if err := attributevalue.UnmarshalMap(out.Attributes, &it); err == nil && it.BSUID != "" {
		pupd := expression.Set(expression.Name(attrBSUID), expression.Value(it.BSUID)).
			Set(expression.Name(attrBSUIDScope), expression.Value(it.BSUIDScope))
		if err := s.update(ctx, s.names.Patients, patientPK(clinicID, patientID), skPatient, pupd, condPtr(nPK.AttributeExists())); err != nil && !conditionFailed(err) {
			return wrap(contactOp("stamp bsuid from", clinicID, newKey), err)
		}
	}
	return nil
}

// updateOld runs an UpdateItem and returns the attributes it changed, as they were.
func (s *Store) updateOld(ctx context.Context, table, pk, sk string, upd expression.UpdateBuilder) (map[string]types.AttributeValue, error) {
	ex, err := expression.NewBuilder().WithUpdate(upd).Build()
	if err != nil {
		return nil, err
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(table), Key: itemKey(pk, sk), UpdateExpression: ex.Update(),
		ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(), ReturnValues: types.ReturnValueUpdatedOld,
	})
	if err != nil {
		return nil, err
	}
	return out.Attributes, nil
}
