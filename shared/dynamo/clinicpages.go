package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
)

// ClinicPage is one page of ListClinics; Next is empty after the last page.
type ClinicPage struct {
	Clinics []clinic.Clinic
	Next    string
}

// ListClinics reads one page of the clinics table (a scan: the table holds one
// item per tenant and a few per WABA, so a page costs what the tenants cost),
// resuming at the previous page's Next ("" for the first page). limit bounds the
// items read, not only those returned, so a page's cost is bounded too.
func (s *Store) ListClinics(ctx context.Context, after string, limit int) (ClinicPage, error) {
	op := "list clinics"
	filter := expression.Name(AttrPK).BeginsWith(prefixClinic)
	ex, err := expression.NewBuilder().WithFilter(filter).Build()
	if err != nil {
		return ClinicPage{}, wrap(op, err)
	}
	if limit <= 0 || limit > maxSlotPage {
		limit = maxSlotPage
	}
	in := &dynamodb.ScanInput{TableName: aws.String(s.names.Clinics), FilterExpression: ex.Filter(),
		ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(), Limit: aws.Int32(int32(limit)),
		ConsistentRead: aws.Bool(false)}
	if after != "" {
		in.ExclusiveStartKey = map[string]types.AttributeValue{AttrPK: &types.AttributeValueMemberS{Value: after}}
	}
	out, err := s.db.Scan(ctx, in)
	if err != nil {
		return ClinicPage{}, wrap(op, err)
	}
	page := ClinicPage{Clinics: make([]clinic.Clinic, 0, len(out.Items))}
	for _, av := range out.Items {
		c, err := decodeClinicItem(op, av)
		if err != nil {
			return ClinicPage{}, err
		}
		page.Clinics = append(page.Clinics, c)
	}
	if len(out.LastEvaluatedKey) > 0 {
		var k struct {
			PK string `dynamodbav:"pk"`
		}
		if err := attributevalue.UnmarshalMap(out.LastEvaluatedKey, &k); err != nil {
			return ClinicPage{}, fmt.Errorf("dynamo: %s: decode cursor: %w", op, err)
		}
		// An opaque cursor: the last key read, which may be a WABA item.
		page.Next = k.PK
	}
	return page, nil
}
