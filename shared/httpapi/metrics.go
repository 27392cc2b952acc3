package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/frontdesk-health/frontdesk/shared/metrics"
)

// MetricsReader reads a clinic's daily counters (dynamo.Store).
type MetricsReader interface {
	MetricDays(ctx context.Context, clinicID, from, to string) ([]metrics.DayCounts, error)
}

// metricsAnswer is GET .../metrics: the report with the clinic and its zone.
type metricsAnswer struct {
	ClinicID string `json:"clinicId"`
	TimeZone string `json:"timeZone"`
	metrics.Report
}

// getMetrics reads the clinic's aggregate for the requested local dates: one
// query over at most metrics.MaxRangeDays days, whatever the clinic's volume.
func (h *EHRAPI) getMetrics(w http.ResponseWriter, r *http.Request) {
	c, ok := h.readClinic(w, r)
	if !ok {
		return
	}
	v := r.URL.Query()
	q, err := metrics.ParseQuery(v.Get("from"), v.Get("to"), v.Get("interval"))
	if err != nil {
		h.fail(w, r)(NewProblem(http.StatusBadRequest, err.Error()))
		return
	}
	if h.Metrics == nil {
		h.fail(w, r)(errors.New("httpapi: no metrics reader configured"))
		return
	}
	days, err := h.Metrics.MetricDays(r.Context(), c.ID, q.FromDay(), q.ToDay())
	if err != nil {
		h.fail(w, r)(err)
		return
	}
	card := metrics.DefaultRateCard()
	if c.RateCard != nil {
		card = *c.RateCard
	}
	writeJSON(w, http.StatusOK, metricsAnswer{ClinicID: c.ID, TimeZone: c.TimeZone, Report: metrics.Summarise(q, days, card)})
}
