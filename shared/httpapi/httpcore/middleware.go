package httpcore

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// MaxBodyBytes bounds every request body (EHR events and WhatsApp webhooks).
const MaxBodyBytes = 256 << 10

// ReadBody reads at most MaxBodyBytes; a larger body is a 413 problem.
func ReadBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > MaxBodyBytes {
		return nil, NewProblem(http.StatusRequestEntityTooLarge, "the body exceeds the limit of 256 KiB")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, NewProblem(http.StatusRequestEntityTooLarge, "the body exceeds the limit of 256 KiB")
		}
		return nil, NewProblem(http.StatusBadRequest, "the body could not be read")
	}
	return body, nil
}

// RequireContentType answers 415 unless the request's media type is one of want.
func RequireContentType(r *http.Request, want ...string) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err == nil {
		for _, w := range want {
			if strings.EqualFold(mt, w) {
				return nil
			}
		}
	}
	return NewProblem(http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type must be %s", strings.Join(want, " or ")))
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) { s.status = code; s.ResponseWriter.WriteHeader(code) }

// withLogging logs one line per request: method, route pattern, status, latency.
// Never the raw path's query, headers or body: they can carry tokens or phone numbers.
func withLogging(log *slog.Logger, clock platform.Clock, mux *http.ServeMux, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := clock.Now()
		_, route := mux.Handler(r)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			if v := recover(); v != nil {
				WriteProblem(rec, r, InternalProblem(log, r, http.StatusInternalServerError, fmt.Errorf("http panic on %s: %v", route, v)))
			}
			log.Info("http request", "method", r.Method, "route", route, "status", rec.status,
				"duration_ms", clock.Now().Sub(start).Milliseconds())
		}()
		next.ServeHTTP(rec, r)
	})
}

// StripStage removes a leading "/<stage>" from the path. API Gateway REST APIs
// pass the stage in the path for some invocation styles; aws-lambda-go-api-proxy
// keeps it, and routes would otherwise 404 (the stage-prefix trap).
func StripStage(stage string, next http.Handler) http.Handler {
	if stage == "" {
		return next
	}
	prefix := "/" + strings.Trim(stage, "/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p == prefix || strings.HasPrefix(p, prefix+"/") {
			r2 := r.Clone(r.Context())
			r2.URL.Path = strings.TrimPrefix(p, prefix)
			if r2.URL.Path == "" {
				r2.URL.Path = "/"
			}
			r2.URL.RawPath = ""
			r = r2
		}
		next.ServeHTTP(w, r)
	})
}
