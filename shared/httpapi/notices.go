package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/notice"
	"github.com/frontdesk-health/frontdesk/shared/notices"
)

// NoticeService accepts and reads notices (notices.Service).
type NoticeService interface {
	Create(ctx context.Context, c clinic.Clinic, patientID, key string, req notice.Request) (notice.Notice, error)
	Get(ctx context.Context, clinicID, patientID, id string) (notice.Notice, error)
}

var _ NoticeService = (*notices.Service)(nil)

// postNotice is signed like every EHR write and idempotent by webhook-id: the
// notice id is derived from it, so even a retry after a lost answer finds the
// same notice.
func (h *EHRAPI) postNotice(w http.ResponseWriter, r *http.Request) {
	patientID := r.PathValue("patientId")
	signedWrite(h, w, r, func(c clinic.Clinic, body []byte) (notice.Request, error) {
		req, err := ehr.ParseNotice(body, c, patientID, h.Clock.Now())
		if err == nil && h.Notices == nil {
			err = errors.New("httpapi: no notice service configured")
		}
		return req, err
	}, func(c clinic.Clinic, req notice.Request) (int, any, error) {
		n, err := h.Notices.Create(r.Context(), c, patientID, r.Header.Get("webhook-id"), req)
		if err != nil {
			return 0, nil, noticeProblem(err)
		}
		return http.StatusAccepted, ehr.NewNoticeState(n), nil
	})
}

func (h *EHRAPI) getNotice(w http.ResponseWriter, r *http.Request) {
	c, err := h.clinicFor(r)
	if err == nil {
		_, err = h.authenticateBearer(r, c, scopeRead)
	}
	if err == nil && !ehr.ValidNoticeID(r.PathValue("noticeId")) {
		err = NewProblem(http.StatusNotFound, "unknown notice")
	}
	if err == nil && h.Notices == nil {
		err = errors.New("httpapi: no notice service configured")
	}
	if err != nil {
		h.fail(w, r)(err)
		return
	}
	n, err := h.Notices.Get(r.Context(), c.ID, r.PathValue("patientId"), r.PathValue("noticeId"))
	if errors.Is(err, fault.ErrNotFound) {
		err = NewProblem(http.StatusNotFound, "unknown notice")
	}
	if err != nil {
		h.fail(w, r)(err)
		return
	}
	writeJSON(w, http.StatusOK, ehr.NewNoticeState(n))
}

// noticeProblem maps the service's refusals; anything else is a server error.
func noticeProblem(err error) error {
	switch {
	case errors.Is(err, notices.ErrUnknownPatient):
		return NewProblem(http.StatusNotFound, "unknown patient: the EHR has not sent this patient yet")
	case errors.Is(err, notices.ErrUnknownAppointment):
		p := NewProblem(http.StatusUnprocessableEntity, "appointmentId names no appointment of this patient")
		p.Errors = []FieldProblem{{Pointer: "/appointmentId", Detail: "unknown appointment for this patient"}}
		return p
	case errors.Is(err, notices.ErrNoContact):
		return NewProblem(http.StatusUnprocessableEntity, "the clinic file has no portalUrl or phone: a notice must say where to get what is ready")
	}
	return err
}
