package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

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
	notExists := expression.AttributeNotExists(expression.Name(AttrPK))
	if n.State == notice.StateQueued {
		err = s.createWithDue(ctx, n, av, notExists)
	} else {
		err = s.put(ctx, s.names.Patients, av, &notExists)
	}
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
	return queryDomain(ctx, s, fmt.Sprintf("notices of patient %s", clinicID), s.names.Patients, "",
		partitionPrefix(patientPK(clinicID, patientID), skNotice), true, noticeItem.domain)
}

// Due markers: a queued notice has one item in the appointments table that puts it
// in the existing sparse due index under shards of its own ("N00".."N07", beside
// the reminders' "00".."07", which the reminder sweep alone queries), so the
// dispatcher reads only notices due now and no index is added to any table. The
// marker is written with the notice in one transaction, moved forward by a
// conditional write to claim it (a lease: a dispatcher that dies leaves it to come
// due again), and deleted once the notice is handed on or settled.
const (
	prefixNoticeDue = "NOTICE#"
	skNoticeDue     = "DUE"
	noticeShard     = "N"
)

// NoticeDueGrace is how far ahead a notice that is due at once gets its marker:
// the request hands it on itself, and the marker only catches a hand-off that never
// happened (a crash, a failed enqueue).
const NoticeDueGrace = 5 * time.Minute

type noticeDueItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	ClinicID  string `dynamodbav:"clinicId"`
	PatientID string `dynamodbav:"patientId"`
	NoticeID  string `dynamodbav:"noticeId"`
	DueShard  string `dynamodbav:"dueShard"`
	DueAt     int64  `dynamodbav:"dueAt"`
}

func noticeDuePK(clinicID, noticeID string) string {
	return prefixNoticeDue + clinicID + "#" + noticeID
}

func (s *Store) noticeDueShard(pk string) string { return noticeShard + s.shardOf(pk) }

// createWithDue puts a queued notice and its due marker in one transaction, so a
// notice is never queued without something that will dispatch it.
func (s *Store) createWithDue(ctx context.Context, n notice.Notice, av map[string]types.AttributeValue, notExists expression.ConditionBuilder) error {
	at := s.now().Add(NoticeDueGrace)
	if n.NotBefore.After(s.now()) {
		at = n.NotBefore
	}
	pk := noticeDuePK(n.ClinicID, n.ID)
	marker, err := marshal(noticeDueItem{PK: pk, SK: skNoticeDue, ClinicID: n.ClinicID, PatientID: n.PatientID,
		NoticeID: n.ID, DueShard: s.noticeDueShard(pk), DueAt: dueIndexSeconds(at)})
	if err != nil {
		return err
	}
	putNotice, err := s.transactPut(s.names.Patients, av, notExists)
	if err != nil {
		return err
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		putNotice, {Put: &types.Put{TableName: aws.String(s.names.Appointments), Item: marker}},
	}})
	return err
}

// DueNotices lists the due markers of one shard at or before now, oldest first, at
// most limit. The index is eventually consistent: callers claim each with
// MoveNoticeDue before acting on it.
func (s *Store) DueNotices(ctx context.Context, shard int, now time.Time, limit int) ([]notice.Due, error) {
	op := fmt.Sprintf("due notices shard %d", shard)
	if shard < 0 || shard >= s.shards {
		return nil, fmt.Errorf("dynamo: %s: shard out of range 0..%d", op, s.shards-1)
	}
	in, err := keyQuery(s.names.Appointments, IndexDue,
		expression.Key(AttrDueShard).Equal(expression.Value(fmt.Sprintf("%s%02d", noticeShard, shard))).
			And(expression.Key(AttrDueAt).LessThanEqual(expression.Value(now.Unix()))), false)
	if err != nil {
		return nil, wrap(op, err)
	}
	in.ScanIndexForward = aws.Bool(true)
	if limit > 0 {
		in.Limit = aws.Int32(int32(min(limit, 1000))) //nolint:gosec // G115: bounded to 1000 on this line
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, wrap(op, err)
	}
	return decodeAll(op, out.Items, func(it noticeDueItem) notice.Due {
		return notice.Due{ClinicID: it.ClinicID, PatientID: it.PatientID, NoticeID: it.NoticeID, At: time.Unix(it.DueAt, 0).UTC()}
	})
}

// MoveNoticeDue moves a marker from d.At to to, on condition it is still at d.At:
// of concurrent dispatchers that read the same marker one wins (the others get
// ErrConditionFailed), and a marker settled meanwhile is not brought back.
func (s *Store) MoveNoticeDue(ctx context.Context, d notice.Due, to time.Time) error {
	op := fmt.Sprintf("move due notice %s/%s", d.ClinicID, d.NoticeID)
	cond := expression.Name(AttrDueAt).Equal(expression.Value(dueIndexSeconds(d.At)))
	upd := expression.Set(expression.Name(AttrDueAt), expression.Value(dueIndexSeconds(to)))
	return wrap(op, s.update(ctx, s.names.Appointments, noticeDuePK(d.ClinicID, d.NoticeID), skNoticeDue, upd, &cond))
}

// DeleteNoticeDue removes a notice's marker: it was handed on or settled. Deleting
// a marker already gone is not an error.
func (s *Store) DeleteNoticeDue(ctx context.Context, clinicID, noticeID string) error {
	op := fmt.Sprintf("delete due notice %s/%s", clinicID, noticeID)
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.names.Appointments),
		Key: itemKey(noticeDuePK(clinicID, noticeID), skNoticeDue)})
	return wrap(op, err)
}

// BackfillNoticeDue gives every queued notice stored before due markers existed
// its marker (at its NotBefore, or now when that passed), so the dispatcher sends
// it. It scans the patients table: a one-off after the deploy, not a routine path.
// Running it again adds none.
func (s *Store) BackfillNoticeDue(ctx context.Context) (int, error) {
	const op = "backfill notice due markers"
	filt := expression.Name(AttrSK).BeginsWith(skNotice).And(expression.Name("state").Equal(expression.Value(notice.StateQueued)))
	added := 0
	err := scanEach(ctx, s, op, s.names.Patients, filt, func(it noticeItem) error {
		// Due now (this second, so the next run finds it), or at its NotBefore.
		dueAt := s.now().Unix()
		if it.NotBefore.After(s.now()) {
			dueAt = dueIndexSeconds(it.NotBefore)
		}
		pk := noticeDuePK(it.ClinicID, it.NoticeID)
		marker, err := marshal(noticeDueItem{PK: pk, SK: skNoticeDue, ClinicID: it.ClinicID, PatientID: it.PatientID,
			NoticeID: it.NoticeID, DueShard: s.noticeDueShard(pk), DueAt: dueAt})
		if err != nil {
			return fmt.Errorf("dynamo: %s: %w", op, err)
		}
		err = s.put(ctx, s.names.Appointments, marker, condPtr(expression.AttributeNotExists(expression.Name(AttrPK))))
		switch {
		case err == nil:
			added++
		case conditionFailed(err):
		default:
			return wrap(op, err)
		}
		return nil
	})
	return added, err
}
