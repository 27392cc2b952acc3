package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/frontdesk-health/frontdesk/shared/notice"
)

// Notices live in their patient's partition of the patients table (sk
// "N#<noticeId>"): GET .../patients/{patientId}/notices/{noticeId} is one GetItem,
// and a notice has the patient's retention class. Ids are derived from what makes
// a notice unique (notice.ID), so creating one is a conditional put: a retry finds
// the notice it already created and changes nothing.
const skNotice = "N#"

type noticeItem struct {
	PK            string       `dynamodbav:"pk"`
	SK            string       `dynamodbav:"sk"`
	ClinicID      string       `dynamodbav:"clinicId"`
	NoticeID      string       `dynamodbav:"noticeId"`
	PatientID     string       `dynamodbav:"patientId"`
	Kind          notice.Kind  `dynamodbav:"kind"`
	DueDate       string       `dynamodbav:"dueDate,omitempty"`
	AppointmentID string       `dynamodbav:"appointmentId,omitempty"`
	Source        string       `dynamodbav:"source"`
	State         notice.State `dynamodbav:"state"`
	Reason        string       `dynamodbav:"reason,omitempty"`
	Score         int          `dynamodbav:"score,omitempty"`
	CreatedAt     time.Time    `dynamodbav:"createdAt"`
	UpdatedAt     time.Time    `dynamodbav:"updatedAt"`
	NotBefore     time.Time    `dynamodbav:"notBefore,omitempty"`
}

func (it noticeItem) domain() notice.Notice {
	return notice.Notice{ClinicID: it.ClinicID, ID: it.NoticeID, PatientID: it.PatientID, Kind: it.Kind,
		DueDate: it.DueDate, AppointmentID: it.AppointmentID, Source: it.Source, State: it.State, Reason: it.Reason,
		Score: it.Score, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt, NotBefore: it.NotBefore}
}

func noticeOp(verb string, n notice.Notice) string {
	return fmt.Sprintf("%s notice %s/%s", verb, n.ClinicID, n.ID)
}

// CreateNotice stores n unless a notice with its id exists. created is false when
// it did (a retried request or a repeated plan), and the stored notice is returned.
func (s *Store) CreateNotice(ctx context.Context, n notice.Notice) (stored notice.Notice, created bool, err error) {
	op := noticeOp("create", n)
	it := noticeItem{PK: patientPK(n.ClinicID, n.PatientID), SK: skNotice + n.ID, ClinicID: n.ClinicID, NoticeID: n.ID,
		PatientID: n.PatientID, Kind: n.Kind, DueDate: n.DueDate, AppointmentID: n.AppointmentID, Source: n.Source,
		State: n.State, Reason: n.Reason, Score: n.Score, CreatedAt: n.CreatedAt, UpdatedAt: n.UpdatedAt, NotBefore: n.NotBefore}
	av, err := marshal(it)
	if err != nil {
		return notice.Notice{}, false, wrap(op, err)
	}
	err = s.put(ctx, s.names.Patients, av, condPtr(expression.AttributeNotExists(expression.Name(AttrPK))))
	if conditionFailed(err) {
		prev, gerr := s.GetNotice(ctx, n.ClinicID, n.PatientID, n.ID)
		return prev, false, gerr
	}
	if err != nil {
		return notice.Notice{}, false, wrap(op, err)
	}
	return n, true, nil
}

// GetNotice reads one notice; fault.ErrNotFound when the patient has none with id.
func (s *Store) GetNotice(ctx context.Context, clinicID, patientID, id string) (notice.Notice, error) {
	op := noticeOp("get", notice.Notice{ClinicID: clinicID, ID: id})
	var it noticeItem
	ok, err := s.getItem(ctx, s.names.Patients, patientPK(clinicID, patientID), skNotice+id, &it)
	if err != nil {
		return notice.Notice{}, wrap(op, err)
	}
	if !ok {
		return notice.Notice{}, notFound(op)
	}
	return it.domain(), nil
}

// SetNoticeState moves a notice to state (with its reason), only forward from one
// of the states in from: a late "delivered" never undoes "read" or "answered".
func (s *Store) SetNoticeState(ctx context.Context, n notice.Notice, state notice.State, reason string, from ...notice.State) error {
	op := noticeOp("set state of", n)
	upd := expression.Set(expression.Name("state"), expression.Value(state)).
		Set(expression.Name("updatedAt"), expression.Value(s.now()))
	if reason != "" {
		upd = upd.Set(expression.Name("reason"), expression.Value(reason))
	}
	cond := expression.AttributeExists(expression.Name(AttrPK))
	if len(from) > 0 {
		ops := make([]expression.OperandBuilder, 0, len(from)-1)
		for _, f := range from[1:] {
			ops = append(ops, expression.Value(f))
		}
		cond = cond.And(expression.Name("state").In(expression.Value(from[0]), ops...))
	}
	err := s.update(ctx, s.names.Patients, patientPK(n.ClinicID, n.PatientID), skNotice+n.ID, upd, &cond)
	if conditionFailed(err) {
		return &ConditionFailedError{Op: op, Err: err}
	}
	return wrap(op, err)
}

// AnswerFeedback records a question's score once: a second answer (a list tap after
// a typed digit) is ErrConditionFailed and changes nothing.
func (s *Store) AnswerFeedback(ctx context.Context, n notice.Notice, score int) error {
	op := noticeOp("answer", n)
	upd := expression.Set(expression.Name("state"), expression.Value(notice.StateAnswered)).
		Set(expression.Name("score"), expression.Value(score)).
		Set(expression.Name("updatedAt"), expression.Value(s.now()))
	cond := expression.AttributeExists(expression.Name(AttrPK)).
		And(expression.Name("kind").Equal(expression.Value(notice.KindFeedback))).
		And(expression.Name("state").NotEqual(expression.Value(notice.StateAnswered)))
	return wrap(op, s.update(ctx, s.names.Patients, patientPK(n.ClinicID, n.PatientID), skNotice+n.ID, upd, &cond))
}

// PatientNotices returns a patient's notices (one query of the patient's partition;
// a patient has few notices, and their items leave with the patient's retention).
func (s *Store) PatientNotices(ctx context.Context, clinicID, patientID string) ([]notice.Notice, error) {
	op := fmt.Sprintf("notices of patient %s", clinicID)
	in, err := keyQuery(s.names.Patients, "",
		expression.Key(AttrPK).Equal(expression.Value(patientPK(clinicID, patientID))).
			And(expression.Key(AttrSK).BeginsWith(skNotice)), true)
	if err != nil {
		return nil, wrap(op, err)
	}
	items, err := s.queryAll(ctx, in)
	if err != nil {
		return nil, wrap(op, err)
	}
	out := make([]notice.Notice, 0, len(items))
	for _, av := range items {
		var it noticeItem
		if err := attributevalue.UnmarshalMap(av, &it); err != nil {
			return nil, fmt.Errorf("dynamo: %s: decode: %w", op, err)
		}
		out = append(out, it.domain())
	}
	return out, nil
}
