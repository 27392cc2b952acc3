package httpapi

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/slot"
)

// Bounds of GET .../slots: one query reads one clinic's index partition, so a
// window and a page are bounded to keep every answer small and fast.
const (
	MaxSlotWindow    = 31 * 24 * time.Hour
	DefaultSlotLimit = 100
	MaxSlotLimit     = 500
)

func (h *EHRAPI) putSlot(w http.ResponseWriter, r *http.Request) {
	signedWrite(h, w, r, func(c clinic.Clinic, body []byte) (ehr.SlotEvent, error) {
		return ehr.ParseNativeSlot(body, c, r.PathValue("slotId"), h.Clock.Now())
	}, func(c clinic.Clinic, ev ehr.SlotEvent) (int, any, error) {
		res, err := h.Intake.ApplySlot(r.Context(), c, ev)
		if err != nil {
			return 0, nil, err
		}
		return putStatus(res.Created), ehr.SlotAnswer{SlotState: ehr.NewSlotState(res.Slot), Stale: res.Stale}, nil
	})
}

func (h *EHRAPI) getSlots(w http.ResponseWriter, r *http.Request) {
	c, ok := h.readClinic(w, r)
	if !ok {
		return
	}
	q, err := slotQuery(r)
	if err != nil {
		h.fail(w, r)(err)
		return
	}
	q.ClinicID = c.ID
	page, err := h.Intake.Slots(r.Context(), q)
	if err != nil {
		h.fail(w, r)(err)
		return
	}
	out := ehr.SlotList{ClinicID: c.ID, From: q.From.UTC(), To: q.To.UTC(), Slots: make([]ehr.SlotState, 0, len(page.Slots))}
	for _, s := range page.Slots {
		out.Slots = append(out.Slots, ehr.NewSlotState(s))
	}
	if page.Next != nil {
		out.Next = encodeCursor(*page.Next)
	}
	writeJSON(w, http.StatusOK, out)
}

// slotQuery reads from, to, limit and cursor, reporting every bad parameter at once.
func slotQuery(r *http.Request) (slot.Query, error) {
	v := r.URL.Query()
	var bad []string
	instant := func(name string) time.Time {
		s := v.Get(name)
		t, err := time.Parse(time.RFC3339Nano, s)
		switch {
		case s == "":
			bad = append(bad, name+" is required")
		case err != nil:
			bad = append(bad, name+" must be an RFC 3339 date-time with offset (e.g. 2026-12-01T00:00:00Z)")
		case t.Year() < 1900 || t.Year() > 9999:
			bad = append(bad, name+" must be between the years 1900 and 9999")
		default:
			return t
		}
		return time.Time{}
	}
	q := slot.Query{From: instant("from"), To: instant("to"), Limit: DefaultSlotLimit}
	if !q.From.IsZero() && !q.To.IsZero() {
		switch {
		case !q.To.After(q.From):
			bad = append(bad, "to must be after from")
		case q.To.Sub(q.From) > MaxSlotWindow:
			bad = append(bad, "the window from..to must be at most 31 days")
		}
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxSlotLimit {
			bad = append(bad, "limit must be an integer from 1 to "+strconv.Itoa(MaxSlotLimit))
		}
		q.Limit = n
	}
	if s := v.Get("cursor"); s != "" {
		k, ok := decodeCursor(s)
		// A cursor outside the window comes from another query: DynamoDB would
		// refuse it, and answering a page of another window would mislead.
		if !ok || len(bad) == 0 && (k.Start.Before(q.From) || !k.Start.Before(q.To)) {
			bad = append(bad, "cursor must be the next value of an answer to the same from and to")
		}
		q.After = &k
	}
	if len(bad) > 0 {
		return slot.Query{}, NewProblem(http.StatusBadRequest, strings.Join(bad, "; "))
	}
	return q, nil
}

// A cursor is the start and id of the last slot of a page, opaque to clients.
func encodeCursor(k slot.Key) string {
	return base64.RawURLEncoding.EncodeToString([]byte(k.Start.UTC().Format(time.RFC3339Nano) + " " + k.ID))
}

func decodeCursor(s string) (slot.Key, bool) {
	if len(s) > 200 {
		return slot.Key{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return slot.Key{}, false
	}
	at, id, ok := strings.Cut(string(b), " ")
	t, err := time.Parse(time.RFC3339Nano, at)
	if !ok || err != nil || !ehr.ValidID(id) {
		return slot.Key{}, false
	}
	return slot.Key{Start: t, ID: id}, true
}
