package ehr

import (
	"regexp"
	"strings"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/notice"
)

// ParseNotice reads POST .../patients/{patientId}/notices: {"kind": ...} with
// "dueDate" (YYYY-MM-DD, the clinic's local date) for recall_due and
// "appointmentId" for feedback, nothing else. The request has no free text on
// purpose: a notice's message is built from the clinic file and the patient's
// given name only, so nothing the EHR sends can put a result or a drug into it.
func ParseNotice(body []byte, c clinic.Clinic, patientID string, now time.Time) (notice.Request, error) {
	var p problems
	if !ValidID(patientID) {
		p.add("", "patientId in the path must be 1-64 characters of A-Z a-z 0-9 - .")
	}
	raw, ok := decodeSingle(body, &p)
	if !ok {
		return notice.Request{}, p.err()
	}
	o, ok := readObject(raw, "", &p)
	if !ok {
		return notice.Request{}, p.err()
	}
	o.only(&p, "kind", "dueDate", "appointmentId")
	var req notice.Request
	if s, ok := o.str(&p, "kind", true); ok {
		req.Kind = notice.Kind(s)
		if !req.Kind.Valid() {
			names := make([]string, len(notice.Kinds))
			for i, k := range notice.Kinds {
				names[i] = string(k)
			}
			p.add(o.child("kind"), "must be one of %s, got %s", strings.Join(names, ", "), quote(s))
		}
	}
	due, hasDue := o.str(&p, "dueDate", req.Kind == notice.KindRecallDue)
	switch {
	case hasDue && req.Kind != notice.KindRecallDue:
		p.add(o.child("dueDate"), "is only for kind recall_due")
	case hasDue:
		loc, err := c.Location()
		if err != nil {
			p.add("", "the clinic's time zone is not configured")
			break
		}
		if msg := notice.DueDateValid(due, now, loc); msg != "" {
			p.add(o.child("dueDate"), "%s", msg)
		}
		req.DueDate = due
	}
	appt, hasAppt := o.str(&p, "appointmentId", req.Kind == notice.KindFeedback)
	switch {
	case hasAppt && req.Kind != notice.KindFeedback:
		p.add(o.child("appointmentId"), "is only for kind feedback")
	case hasAppt && !ValidID(appt):
		p.add(o.child("appointmentId"), "must be 1-64 characters of A-Z a-z 0-9 - .")
	case hasAppt:
		req.AppointmentID = appt
	}
	if err := p.err(); err != nil {
		return notice.Request{}, err
	}
	return req, nil
}

// NoticeState is a notice as GET .../notices/{noticeId} and the POST answer show it.
type NoticeState struct {
	ClinicID      string       `json:"clinicId"`
	PatientID     string       `json:"patientId"`
	NoticeID      string       `json:"noticeId"`
	Kind          notice.Kind  `json:"kind"`
	DueDate       string       `json:"dueDate,omitempty"`
	AppointmentID string       `json:"appointmentId,omitempty"`
	Source        string       `json:"source"`
	State         notice.State `json:"state"`
	Reason        string       `json:"reason,omitempty"`
	Score         int          `json:"score,omitempty"`
	CreatedAt     time.Time    `json:"createdAt"`
	UpdatedAt     time.Time    `json:"updatedAt"`
	NotBefore     *time.Time   `json:"notBefore,omitempty"`
}

// NewNoticeState shapes a notice for the API.
func NewNoticeState(n notice.Notice) NoticeState {
	s := NoticeState{ClinicID: n.ClinicID, PatientID: n.PatientID, NoticeID: n.ID, Kind: n.Kind, DueDate: n.DueDate,
		AppointmentID: n.AppointmentID, Source: n.Source, State: n.State, Reason: n.Reason, Score: n.Score,
		CreatedAt: n.CreatedAt.UTC(), UpdatedAt: n.UpdatedAt.UTC()}
	if !n.NotBefore.IsZero() {
		nb := n.NotBefore.UTC()
		s.NotBefore = &nb
	}
	return s
}

var noticeIDPattern = regexp.MustCompile(`^ntc_[0-9a-f]{24}$`)

// ValidNoticeID reports whether id can be a notice id; others are not looked up.
func ValidNoticeID(id string) bool { return noticeIDPattern.MatchString(id) }
