package memstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/frontdesk-health/frontdesk/shared/notice"
)

// Notices, keyed by clinic, patient and notice id: a patient's notices list in id
// order, as the DynamoDB store's query of the patient's partition returns them.
const tblNotices = "notices"

func noticeKey(clinicID, patientID, id string) string { return key(clinicID, patientID, id) }

func noticeOp(verb string, n notice.Notice) string {
	return fmt.Sprintf("%s notice %s/%s", verb, n.ClinicID, n.ID)
}

// CreateNotice stores n unless a notice with its id exists. created is false when
// it did, and the stored notice is returned.
func (s *Store) CreateNotice(_ context.Context, n notice.Notice) (stored notice.Notice, created bool, err error) {
	defer s.lock()()
	k := noticeKey(n.ClinicID, n.PatientID, n.ID)
	if cur, ok := get[notice.Notice](s, tblNotices, k); ok {
		return cur, false, nil
	}
	c := n
	c.CreatedAt, c.UpdatedAt, c.NotBefore = utc(n.CreatedAt), utc(n.UpdatedAt), utc(n.NotBefore)
	put(s, tblNotices, k, c)
	return n, true, nil
}

// GetNotice reads one notice; fault.ErrNotFound when the patient has none with id.
func (s *Store) GetNotice(_ context.Context, clinicID, patientID, id string) (notice.Notice, error) {
	defer s.lock()()
	n, ok := get[notice.Notice](s, tblNotices, noticeKey(clinicID, patientID, id))
	if !ok {
		return notice.Notice{}, notFound(noticeOp("get", notice.Notice{ClinicID: clinicID, ID: id}))
	}
	return n, nil
}

// SetNoticeState moves a notice to state (with its reason), only from one of the
// states in from when any are given; otherwise fault.ErrConflict, as for a notice
// that does not exist.
func (s *Store) SetNoticeState(_ context.Context, n notice.Notice, state notice.State, reason string, from ...notice.State) error {
	defer s.lock()()
	k := noticeKey(n.ClinicID, n.PatientID, n.ID)
	cur, ok := get[notice.Notice](s, tblNotices, k)
	if !ok || len(from) > 0 && !slices.Contains(from, cur.State) {
		return conflict(noticeOp("set state of", n))
	}
	cur.State = state
	cur.UpdatedAt = s.now()
	if reason != "" {
		cur.Reason = reason
	}
	put(s, tblNotices, k, cur)
	return nil
}

// AnswerFeedback records a feedback question's score once: a second answer, an
// answer to another kind of notice or to none is fault.ErrConflict.
func (s *Store) AnswerFeedback(_ context.Context, n notice.Notice, score int) error {
	defer s.lock()()
	k := noticeKey(n.ClinicID, n.PatientID, n.ID)
	cur, ok := get[notice.Notice](s, tblNotices, k)
	if !ok || cur.Kind != notice.KindFeedback || cur.State == notice.StateAnswered {
		return conflict(noticeOp("answer", n))
	}
	cur.State = notice.StateAnswered
	cur.Score = score
	cur.UpdatedAt = s.now()
	put(s, tblNotices, k, cur)
	return nil
}

// PatientNotices returns a patient's notices in id order.
func (s *Store) PatientNotices(_ context.Context, clinicID, patientID string) ([]notice.Notice, error) {
	defer s.lock()()
	return scan[notice.Notice](s, tblNotices, key(clinicID, patientID)), nil
}
