package dynamo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

type appointmentItem struct {
	PK           string                   `dynamodbav:"pk"`
	SK           string                   `dynamodbav:"sk"`
	ClinicID     string                   `dynamodbav:"clinicId"`
	ID           string                   `dynamodbav:"appointmentId"`
	Status       appointment.Status       `dynamodbav:"status"`
	Start        string                   `dynamodbav:"start"` // sortableTime: the patient-upcoming index sorts on it
	DurationNs   int64                    `dynamodbav:"durationNs"`
	Location     appointment.Location     `dynamodbav:"location"`
	Practitioner appointment.Practitioner `dynamodbav:"practitioner"`
	PatientID    string                   `dynamodbav:"patientId"`
	PatientKey   string                   `dynamodbav:"patientKey"`
	VisitType    string                   `dynamodbav:"visitType,omitempty"`
	Waitlist     bool                     `dynamodbav:"waitlist,omitempty"`
	Version      int64                    `dynamodbav:"version"`
	OrderingKey  string                   `dynamodbav:"orderingKey,omitempty"`
	Response     appointment.Response     `dynamodbav:"response,omitempty"`
	RespondedAt  time.Time                `dynamodbav:"respondedAt,omitempty"`
	Revision     int64                    `dynamodbav:"revision"`
	CreatedAt    time.Time                `dynamodbav:"createdAt,omitempty"`
	UpdatedAt    time.Time                `dynamodbav:"updatedAt,omitempty"`
}

func toAppointmentItem(a appointment.Appointment) appointmentItem {
	return appointmentItem{
		PK: appointmentPK(a.ClinicID, a.ID), SK: skAppointment,
		ClinicID: a.ClinicID, ID: a.ID, Status: a.Status, Start: formatSortable(a.Start), DurationNs: int64(a.Duration),
		Location: a.Location, Practitioner: a.Practitioner, PatientID: a.PatientID,
		PatientKey: a.ClinicID + "#" + a.PatientID, VisitType: a.VisitType, Waitlist: a.Waitlist, Version: a.Version, OrderingKey: a.OrderingKey, Response: a.Response,
		RespondedAt: a.RespondedAt, Revision: a.Revision, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
	}
}

func (it appointmentItem) domain() (appointment.Appointment, error) {
	start, err := parseSortable(it.Start)
	if err != nil {
		return appointment.Appointment{}, fmt.Errorf("start: %w", err)
	}
	return appointment.Appointment{
		ClinicID: it.ClinicID, ID: it.ID, Status: it.Status, Start: start, Duration: time.Duration(it.DurationNs),
		Location: it.Location, Practitioner: it.Practitioner, PatientID: it.PatientID, VisitType: it.VisitType, Waitlist: it.Waitlist, Version: it.Version, OrderingKey: it.OrderingKey,
		Response: it.Response, RespondedAt: it.RespondedAt, Revision: it.Revision,
		CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt,
	}, nil
}

// maxTransactItems is DynamoDB's limit on items in one transaction.
const maxTransactItems = 100

// SaveAppointment writes the appointment and its reminder changes in one
// transaction, so an appointment is never stored with a reminder plan for another
// start time. a.Revision is the revision the caller read (0: must not exist yet);
// the stored revision becomes a.Revision+1. A lost race returns ErrConditionFailed.
func (s *Store) SaveAppointment(ctx context.Context, a appointment.Appointment, reminders []reminder.Write) error {
	op := fmt.Sprintf("save appointment %s/%s", a.ClinicID, a.ID)
	if a.ClinicID == "" || a.ID == "" {
		return fmt.Errorf("dynamo: %s: clinic and appointment id are required", op)
	}
	if len(reminders)+2 > maxTransactItems { // the appointment, its clinic-day index entry, the reminders
		return fmt.Errorf("dynamo: %s: %d reminders exceed one transaction", op, len(reminders))
	}
	now := s.now()
	stored := a
	stored.Revision = a.Revision + 1
	stored.UpdatedAt = now
	if stored.CreatedAt.IsZero() {
		stored.CreatedAt = now
	}
	item, err := marshal(toAppointmentItem(stored))
	if err != nil {
		return fmt.Errorf("dynamo: %s: %w", op, err)
	}
	cond := nPK.AttributeNotExists()
	if a.Revision != 0 {
		cond = expression.Name("revision").Equal(expression.Value(a.Revision))
	}
	put, err := s.transactPut(s.names.Appointments, item, cond)
	if err != nil {
		return fmt.Errorf("dynamo: %s: %w", op, err)
	}
	items := []types.TransactWriteItem{put}
	day, err := marshal(toDayIndexItem(stored))
	if err != nil {
		return fmt.Errorf("dynamo: %s: day index: %w", op, err)
	}
	items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.names.Appointments), Item: day}})
	pk := appointmentPK(a.ClinicID, a.ID)
	for _, w := range reminders {
		r := w.Reminder
		if r.ClinicID != a.ClinicID || r.AppointmentID != a.ID {
			return fmt.Errorf("dynamo: %s: reminder %s belongs to %s/%s", op, r.Kind, r.ClinicID, r.AppointmentID)
		}
		if r.UpdatedAt.IsZero() {
			r.UpdatedAt = now
		}
		ri, err := marshal(s.toReminderItem(pk, r))
		if err != nil {
			return fmt.Errorf("dynamo: %s: reminder %s: %w", op, r.Kind, err)
		}
		cond := nPK.AttributeNotExists()
		if w.ExpectedState != "" {
			cond = expression.Name(attrState).Equal(expression.Value(w.ExpectedState))
		}
		p, err := s.transactPut(s.names.Appointments, ri, cond)
		if err != nil {
			return fmt.Errorf("dynamo: %s: reminder %s: %w", op, r.Kind, err)
		}
		items = append(items, p)
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	return wrap(op, err)
}

func (s *Store) transactPut(table string, item map[string]types.AttributeValue, cond expression.ConditionBuilder) (types.TransactWriteItem, error) {
	ex, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Put: &types.Put{
		TableName: aws.String(table), Item: item, ConditionExpression: ex.Condition(),
		ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
	}}, nil
}

// GetAppointment reads the appointment and all its reminders with one strongly
// consistent query (they share the partition key).
func (s *Store) GetAppointment(ctx context.Context, clinicID, id string) (appointment.Appointment, []reminder.Reminder, error) {
	op := fmt.Sprintf("get appointment %s/%s", clinicID, id)
	in, err := keyQuery(s.names.Appointments, "", expression.Key(AttrPK).Equal(expression.Value(appointmentPK(clinicID, id))), true)
	if err != nil {
		return appointment.Appointment{}, nil, wrap(op, err)
	}
	items, err := s.queryAll(ctx, in)
	if err != nil {
		return appointment.Appointment{}, nil, wrap(op, err)
	}
	var (
		a         appointment.Appointment
		found     bool
		reminders []reminder.Reminder
	)
	for _, av := range items {
		skAV, _ := av[AttrSK].(*types.AttributeValueMemberS)
		if skAV == nil {
			continue
		}
		switch {
		case skAV.Value == skAppointment:
			var it appointmentItem
			if err := attributevalue.UnmarshalMap(av, &it); err != nil {
				return appointment.Appointment{}, nil, fmt.Errorf("dynamo: %s: decode: %w", op, err)
			}
			if a, err = it.domain(); err != nil {
				return appointment.Appointment{}, nil, fmt.Errorf("dynamo: %s: decode: %w", op, err)
			}
			found = true
		case strings.HasPrefix(skAV.Value, skReminder):
			r, err := decodeReminder(av)
			if err != nil {
				return appointment.Appointment{}, nil, fmt.Errorf("dynamo: %s: %w", op, err)
			}
			reminders = append(reminders, r)
		}
	}
	if !found {
		return appointment.Appointment{}, nil, notFound(op)
	}
	return a, reminders, nil
}

// UpcomingAppointments lists a patient's appointments starting at or after from, in
// start order, whatever their status (the caller decides which ones matter).
func (s *Store) UpcomingAppointments(ctx context.Context, clinicID, patientID string, from time.Time, limit int) ([]appointment.Appointment, error) {
	op := fmt.Sprintf("upcoming appointments of %s/%s", clinicID, platform.Hash(patientID)) // errors get logged
	in, err := keyQuery(s.names.Appointments, IndexPatientUpcoming,
		expression.Key(AttrPatientKey).Equal(expression.Value(clinicID+"#"+patientID)).
			And(expression.Key(AttrStart).GreaterThanEqual(expression.Value(formatSortable(from)))), false)
	if err != nil {
		return nil, wrap(op, err)
	}
	in.ScanIndexForward = aws.Bool(true)
	if limit > 0 {
		in.Limit = aws.Int32(int32(min(limit, 1000)))
	}
	var out []appointment.Appointment
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() && (limit <= 0 || len(out) < limit) {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap(op, err)
		}
		for _, av := range page.Items {
			var it appointmentItem
			if err := attributevalue.UnmarshalMap(av, &it); err != nil {
				return nil, fmt.Errorf("dynamo: %s: decode: %w", op, err)
			}
			a, err := it.domain()
			if err != nil {
				return nil, fmt.Errorf("dynamo: %s: decode: %w", op, err)
			}
			out = append(out, a)
			if limit > 0 && len(out) == limit {
				break
			}
		}
	}
	return out, nil
}
