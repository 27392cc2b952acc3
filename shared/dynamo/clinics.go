package dynamo

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
)

// clinicItem keeps the clinic file's JSON document as it is: the clinic package
// defines its shape with json tags, and one encoding means a new clinic field needs
// no storage change. Only the routing key is a top-level attribute (for its index).
type clinicItem struct {
	PK            string `dynamodbav:"pk"`
	PhoneNumberID string `dynamodbav:"phoneNumberId,omitempty"`
	Config        string `dynamodbav:"config"`
	UpdatedAt     string `dynamodbav:"updatedAt"`
}

// PutClinic stores (replaces) a clinic's configuration.
func (s *Store) PutClinic(ctx context.Context, c clinic.Clinic) error {
	doc, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("dynamo: put clinic %s: %w", c.ID, err)
	}
	item, err := marshal(clinicItem{PK: prefixClinic + c.ID, PhoneNumberID: c.PhoneNumberID, Config: string(doc),
		UpdatedAt: formatSortable(s.now())})
	if err != nil {
		return fmt.Errorf("dynamo: put clinic %s: %w", c.ID, err)
	}
	if err := s.put(ctx, s.names.Clinics, item, nil); err != nil {
		return wrap("put clinic "+c.ID, err)
	}
	return s.linkWABA(ctx, c)
}

// GetClinic reads one clinic.
func (s *Store) GetClinic(ctx context.Context, id string) (clinic.Clinic, error) {
	op := "get clinic " + id
	var it clinicItem
	ok, err := s.getItem(ctx, s.names.Clinics, prefixClinic+id, "", &it)
	if err != nil {
		return clinic.Clinic{}, wrap(op, err)
	}
	if !ok {
		return clinic.Clinic{}, notFound(op)
	}
	return decodeClinic(op, it)
}

// ClinicByPhoneNumberID routes an inbound webhook to its clinic.
func (s *Store) ClinicByPhoneNumberID(ctx context.Context, phoneNumberID string) (clinic.Clinic, error) {
	op := "clinic by phone number id " + phoneNumberID
	in, err := keyQuery(s.names.Clinics, IndexPhoneNumberID,
		expression.Key(AttrPhoneNumberID).Equal(expression.Value(phoneNumberID)), false)
	if err != nil {
		return clinic.Clinic{}, wrap(op, err)
	}
	// Two are fetched so that a misconfiguration (one number on two clinics) is an
	// error instead of messages silently going to whichever clinic comes first.
	in.Limit = aws.Int32(2)
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return clinic.Clinic{}, wrap(op, err)
	}
	switch len(out.Items) {
	case 0:
		return clinic.Clinic{}, notFound(op)
	case 1:
	default:
		return clinic.Clinic{}, fmt.Errorf("dynamo: %s: more than one clinic uses this number", op)
	}
	return decodeClinicItem(op, out.Items[0])
}

func decodeClinicItem(op string, av map[string]types.AttributeValue) (clinic.Clinic, error) {
	var it clinicItem
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return clinic.Clinic{}, fmt.Errorf("dynamo: %s: decode: %w", op, err)
	}
	return decodeClinic(op, it)
}

func decodeClinic(op string, it clinicItem) (clinic.Clinic, error) {
	var c clinic.Clinic
	if err := json.Unmarshal([]byte(it.Config), &c); err != nil {
		return clinic.Clinic{}, fmt.Errorf("dynamo: %s: decode config: %w", op, err)
	}
	return c, nil
}
