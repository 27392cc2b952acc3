package dynamo

import (
	"github.com/frontdesk-health/frontdesk/shared/platform"

	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/frontdesk-health/frontdesk/shared/messagelog"
)

type messageItem struct {
	PK            string               `dynamodbav:"pk"`
	SK            string               `dynamodbav:"sk"`
	WAMID         string               `dynamodbav:"wamid"`
	Direction     messagelog.Direction `dynamodbav:"direction"`
	ClinicID      string               `dynamodbav:"clinicId"`
	PatientID     string               `dynamodbav:"patientId,omitempty"`
	AppointmentID string               `dynamodbav:"appointmentId,omitempty"`
	ReminderKind  string               `dynamodbav:"reminderKind,omitempty"`
	NoticeID      string               `dynamodbav:"noticeId,omitempty"`
	Generation    string               `dynamodbav:"generation,omitempty"`
	Type          string               `dynamodbav:"type,omitempty"`
	Status        messagelog.Status    `dynamodbav:"status"`
	ErrorCode     int                  `dynamodbav:"errorCode,omitempty"`
	CreatedAt     time.Time            `dynamodbav:"createdAt,omitempty"`
	UpdatedAt     time.Time            `dynamodbav:"updatedAt,omitempty"`
	ExpiresAt     time.Time            `dynamodbav:"expiresAt,unixtime"`
}

// PutMessage stores a message record unless one with the same wamid exists; created
// false means it was there already (a redelivered inbound webhook).
func (s *Store) PutMessage(ctx context.Context, m messagelog.Record) (bool, error) {
	op := "put message " + platform.Hash(m.WAMID) // wamids embed the phone number; errors get logged
	if m.WAMID == "" {
		return false, fmt.Errorf("dynamo: %s: wamid is required", op)
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = s.now()
	}
	if m.UpdatedAt.IsZero() {
		m.UpdatedAt = m.CreatedAt
	}
	item, err := marshal(messageItem{
		PK: prefixMessage + m.WAMID, SK: skMessage, WAMID: m.WAMID, Direction: m.Direction, ClinicID: m.ClinicID,
		PatientID: m.PatientID, AppointmentID: m.AppointmentID, ReminderKind: m.ReminderKind, Generation: m.Generation, Type: m.Type,
		NoticeID: m.NoticeID, Status: m.Status, ErrorCode: m.ErrorCode, CreatedAt: m.CreatedAt.UTC(), UpdatedAt: m.UpdatedAt.UTC(),
		// Retention runs from when Frontdesk recorded the message: a record stamped
		// with an old message time (Meta retries for days) must not expire at once,
		// or the wamid dedupe it carries would be lost.
		ExpiresAt: later(m.CreatedAt, s.now()).Add(messagelog.Retention),
	})
	if err != nil {
		return false, fmt.Errorf("dynamo: %s: %w", op, err)
	}
	err = s.put(ctx, s.names.Messages, item, condPtr(nPK.AttributeNotExists()))
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, wrap(op, err)
	}
	return true, nil
}

// GetMessage reads a message record by wamid.
func (s *Store) GetMessage(ctx context.Context, wamid string) (messagelog.Record, error) {
	op := "get message " + platform.Hash(wamid)
	var it messageItem
	ok, err := s.getItem(ctx, s.names.Messages, prefixMessage+wamid, skMessage, &it)
	if err != nil {
		return messagelog.Record{}, wrap(op, err)
	}
	if !ok {
		return messagelog.Record{}, notFound(op)
	}
	return messagelog.Record{
		WAMID: it.WAMID, Direction: it.Direction, ClinicID: it.ClinicID, PatientID: it.PatientID,
		AppointmentID: it.AppointmentID, ReminderKind: it.ReminderKind, Generation: it.Generation, Type: it.Type, Status: it.Status,
		ErrorCode: it.ErrorCode, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt, NoticeID: it.NoticeID,
	}, nil
}

// AdvanceMessage applies a status update only when it moves forward
// (messagelog.AllowedFrom); false, nil means it was stale.
func (s *Store) AdvanceMessage(ctx context.Context, wamid string, to messagelog.Status, at time.Time, errorCode int) (bool, error) {
	op := fmt.Sprintf("advance message %s to %s", platform.Hash(wamid), to)
	from := messagelog.AllowedFrom(to)
	if len(from) == 0 {
		return false, nil
	}
	upd := expression.Set(expression.Name("status"), expression.Value(to)).
		Set(expression.Name("updatedAt"), expression.Value(at.UTC()))
	if errorCode != 0 {
		upd = upd.Set(expression.Name("errorCode"), expression.Value(errorCode))
	}
	return s.advance(ctx, op, s.names.Messages, prefixMessage+wamid, skMessage, upd, inStates("status", from))
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
