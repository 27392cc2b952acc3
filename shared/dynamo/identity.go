package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/frontdesk-health/frontdesk/shared/contact"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// Business-scoped user ids (BSUIDs) live in the patients table beside the contacts,
// read by key only, so no index is added (CloudFormation adds one GSI per table per
// update, and none is needed):
//
//   - pk BSUID#<clinic>#<bsuid>, sk B: which contact (number) the BSUID was last seen
//     beside, in which portfolio scope, and when. A username-only message finds its
//     patients through it with one GetItem.
//   - on the contact item: the BSUID, its parent and scope (contact.Contact).
//   - on each patient of the contact: the BSUID and scope, so a reminder can still go
//     out by `recipient` after the EHR removed the patient's phone.
//   - pk CONTACT#<clinic>#<old key>, sk ID#<id>: one ledger line per number or BSUID
//     change Meta reported.
const (
	prefixBSUID    = "BSUID#"
	skBSUID        = "B"
	skIdentityLine = "ID#"

	attrBSUID       = "bsuid"
	attrParentBSUID = "parentBsuid"
	attrBSUIDScope  = "bsuidScope"
	attrBSUIDAt     = "bsuidAt" // unix ns: compared in conditions
	attrLinkedAt    = "linkedAt"
)

func bsuidPK(clinicID, bsuid string) string { return prefixBSUID + clinicID + "#" + bsuid }

func bsuidOp(verb, clinicID, bsuid string) string {
	return fmt.Sprintf("%s bsuid %s/%s", verb, clinicID, platform.Hash(bsuid))
}

type bsuidItem struct {
	ContactKey string `dynamodbav:"contactKey"`
	Scope      string `dynamodbav:"bsuidScope"`
}

// LinkBSUID records that Meta showed bsuid beside the number whose contact key is
// key (at is when: the webhook's time). The newest sighting wins, so a late
// redelivery of an old webhook cannot move the mapping back. It also stamps the
// BSUID on the contact and on every patient linked to it.
func (s *Store) LinkBSUID(ctx context.Context, clinicID, scope, bsuid, parent, key string, at time.Time) error {
	op := bsuidOp("link", clinicID, bsuid)
	if bsuid == "" || key == "" || scope == "" {
		return fmt.Errorf("dynamo: %s: bsuid, contact key and scope are required", op)
	}
	n := unixNanos(at)
	linked := expression.Name(attrLinkedAt)
	cond := linked.AttributeNotExists().Or(linked.LessThanEqual(expression.Value(n)))
	upd := expression.Set(expression.Name("clinicId"), expression.Value(clinicID)).
		Set(expression.Name(attrBSUID), expression.Value(bsuid)).
		Set(expression.Name("contactKey"), expression.Value(key)).
		Set(expression.Name(attrBSUIDScope), expression.Value(scope)).
		Set(linked, expression.Value(n))
	if err := s.update(ctx, s.names.Patients, bsuidPK(clinicID, bsuid), skBSUID, upd, &cond); err != nil && !conditionFailed(err) {
		return wrap(op, err)
	}
	if contact.IsBSUIDKey(key) {
		return nil // a username-only contact is keyed by the BSUID itself
	}
	bAt := expression.Name(attrBSUIDAt)
	ccond := bAt.AttributeNotExists().Or(bAt.LessThanEqual(expression.Value(n)))
	cupd := expression.Set(expression.Name("clinicId"), expression.Value(clinicID)).
		Set(expression.Name("contactKey"), expression.Value(key)).
		Set(expression.Name(attrBSUID), expression.Value(bsuid)).
		Set(expression.Name(attrBSUIDScope), expression.Value(scope)).
		Set(bAt, expression.Value(n))
	cupd = setOrRemove(cupd, attrParentBSUID, parent, parent != "")
	ex, err := expression.NewBuilder().WithUpdate(cupd).WithCondition(ccond).Build()
	if err != nil {
		return wrap(op, err)
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.names.Patients), Key: itemKey(contactPK(clinicID, key), skContact),
		UpdateExpression: ex.Update(), ConditionExpression: ex.Condition(),
		ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(), ReturnValues: types.ReturnValueAllNew,
	})
	if conditionFailed(err) {
		return nil // a newer sighting is stored
	}
	if err != nil {
		return wrap(op, err)
	}
	var it contactItem
	if err := attributevalue.UnmarshalMap(out.Attributes, &it); err != nil {
		return wrap(op, err)
	}
	for _, pid := range it.PatientIDs {
		pupd := expression.Set(expression.Name(attrBSUID), expression.Value(bsuid)).
			Set(expression.Name(attrBSUIDScope), expression.Value(scope))
		pcond := nPK.AttributeExists()
		if err := s.update(ctx, s.names.Patients, patientPK(clinicID, pid), skPatient, pupd, &pcond); err != nil && !conditionFailed(err) {
			return wrap(op, err)
		}
	}
	return nil
}

// ContactByBSUID finds the contact a BSUID belongs to in the clinic, within scope.
// mapped=false means the BSUID was never seen beside a number of this portfolio:
// the returned contact is then the one keyed by the BSUID itself (empty when the
// sender never wrote before), which holds a username-only sender's STOP.
func (s *Store) ContactByBSUID(ctx context.Context, clinicID, scope, bsuid string) (c contact.Contact, mapped bool, err error) {
	op := bsuidOp("resolve", clinicID, bsuid)
	var it bsuidItem
	ok, err := s.getItem(ctx, s.names.Patients, bsuidPK(clinicID, bsuid), skBSUID, &it)
	if err != nil {
		return contact.Contact{}, false, wrap(op, err)
	}
	key := bsuid
	if ok && it.Scope == scope && it.ContactKey != "" {
		key, mapped = it.ContactKey, !contact.IsBSUIDKey(it.ContactKey)
	}
	c, err = s.GetContact(ctx, clinicID, key)
	if err != nil {
		return contact.Contact{}, false, err
	}
	if c.ByBSUID() && c.BSUID == "" {
		c.BSUID, c.BSUIDScope = bsuid, scope
	}
	return c, mapped, nil
}

// PatientBSUID returns the BSUID last seen for the patient's number and its scope;
// empty when none was.
func (s *Store) PatientBSUID(ctx context.Context, clinicID, patientID string) (bsuid, scope string, err error) {
	var it struct {
		BSUID string `dynamodbav:"bsuid"`
		Scope string `dynamodbav:"bsuidScope"`
	}
	if _, err := s.getItem(ctx, s.names.Patients, patientPK(clinicID, patientID), skPatient, &it); err != nil {
		return "", "", wrap(patientOp("get bsuid of", clinicID, patientID), err)
	}
	return it.BSUID, it.Scope, nil
}

// AddContactPatients links patients to a contact without touching their phones: a
// number change Meta reported carries the person's patients to the new number.
func (s *Store) AddContactPatients(ctx context.Context, clinicID, key string, patientIDs []string) error {
	if len(patientIDs) == 0 {
		return nil
	}
	upd := expression.Set(expression.Name("clinicId"), expression.Value(clinicID)).
		Set(expression.Name("contactKey"), expression.Value(key)).
		Add(expression.Name(attrContactPatients), expression.Value(&types.AttributeValueMemberSS{Value: patientIDs}))
	if err := s.update(ctx, s.names.Patients, contactPK(clinicID, key), skContact, upd, nil); err != nil {
		return wrap(contactOp("add patients to", clinicID, key), err)
	}
	return nil
}

type identityItem struct {
	PK         string    `dynamodbav:"pk"`
	SK         string    `dynamodbav:"sk"`
	ClinicID   string    `dynamodbav:"clinicId"`
	ID         string    `dynamodbav:"changeId"`
	Kind       string    `dynamodbav:"kind"`
	FromKey    string    `dynamodbav:"fromKey,omitempty"`
	ToKey      string    `dynamodbav:"toKey,omitempty"`
	FromBSUID  string    `dynamodbav:"fromBsuid,omitempty"`
	ToBSUID    string    `dynamodbav:"toBsuid,omitempty"`
	At         time.Time `dynamodbav:"at"`
	RecordedAt time.Time `dynamodbav:"recordedAt"`
}

// RecordIdentityChange appends a change to the ledger of the contact it leaves
// (ledgerKey: the old number's key, or the old BSUID for a username-only contact).
// A second write of the same change id is a no-op.
func (s *Store) RecordIdentityChange(ctx context.Context, clinicID, ledgerKey string, ch contact.IdentityChange) error {
	op := contactOp("record identity change on", clinicID, ledgerKey)
	if ch.ID == "" || ch.Kind == "" {
		return fmt.Errorf("dynamo: %s: id and kind are required", op)
	}
	if ch.RecordedAt.IsZero() {
		ch.RecordedAt = s.now()
	}
	item, err := marshal(identityItem{PK: contactPK(clinicID, ledgerKey), SK: skIdentityLine + ch.ID, ClinicID: clinicID, ID: ch.ID,
		Kind: ch.Kind, FromKey: ch.FromKey, ToKey: ch.ToKey, FromBSUID: ch.FromBSUID, ToBSUID: ch.ToBSUID, At: ch.At.UTC(), RecordedAt: ch.RecordedAt.UTC()})
	if err != nil {
		return wrap(op, err)
	}
	if err := s.put(ctx, s.names.Patients, item, condPtr(nPK.AttributeNotExists())); err != nil && !conditionFailed(err) {
		return wrap(op, err)
	}
	return nil
}

// IdentityChanges lists the ledger of a contact, oldest id first (one query).
func (s *Store) IdentityChanges(ctx context.Context, clinicID, ledgerKey string) ([]contact.IdentityChange, error) {
	return queryDomain(ctx, s, contactOp("list identity changes of", clinicID, ledgerKey), s.names.Patients, "",
		partitionPrefix(contactPK(clinicID, ledgerKey), skIdentityLine), true, identityItem.domain)
}

func (it identityItem) domain() contact.IdentityChange {
	return contact.IdentityChange{ID: it.ID, Kind: it.Kind, FromKey: it.FromKey, ToKey: it.ToKey,
		FromBSUID: it.FromBSUID, ToBSUID: it.ToBSUID, At: it.At, RecordedAt: it.RecordedAt}
}
