package httpcore

import (
	"log/slog"
	"net/http"

	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// NewRouter serves GET /healthz and the routes register adds, answers unknown
// paths and methods with problem JSON rather than Go's plain text, logs one line
// per request and strips a leading "/<stage>" (see StripStage).
func NewRouter(log *slog.Logger, clock platform.Clock, stage string, register func(mux *http.ServeMux)) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	register(mux)
	root := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern == "" {
			rec := &probeWriter{header: http.Header{}}
			h.ServeHTTP(rec, r)
			if rec.status == http.StatusMethodNotAllowed {
				w.Header().Set("Allow", rec.header.Get("Allow"))
				WriteProblem(w, r, NewProblem(http.StatusMethodNotAllowed, "method not allowed on this path"))
				return
			}
			WriteProblem(w, r, NewProblem(http.StatusNotFound, "no such route"))
			return
		}
		mux.ServeHTTP(w, r)
	})
	return StripStage(stage, withLogging(log, clock, mux, root))
}

// probeWriter captures what the mux would answer for an unmatched request.
type probeWriter struct {
	header http.Header
	status int
}

func (p *probeWriter) Header() http.Header         { return p.header }
func (p *probeWriter) Write(b []byte) (int, error) { return len(b), nil }
func (p *probeWriter) WriteHeader(s int)           { p.status = s }
