package outreach

import (
	"context"
	"log/slog"
	"math"
	"time"

	"golang.org/x/time/rate"

	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

type numberLimiter struct {
	lim       *rate.Limiter
	base      rate.Limit
	slowUntil time.Time
}

// halt stops consumption after an authentication failure: the message is not at
// fault, so it is released (not failed) and kept, like every record after it.
func (s *Sender) halt(ctx context.Context, j *sendJob, cause error) outcome {
	now := s.Clock.Now()
	s.mu.Lock()
	first := !now.Before(s.haltedUntil)
	s.haltedUntil = now.Add(s.HaltCooldown)
	s.mu.Unlock()
	s.release(ctx, j, whatsapp.ClassAuth.String(), whatsapp.CodeAccessToken)
	if first {
		j.log.LogAttrs(ctx, slog.LevelError, "sender.halted", slog.String("alert", AlertAuth), slog.String("error", cause.Error()))
		if s.Halter != nil {
			if err := s.Halter.Halt(context.WithoutCancel(ctx), "whatsapp access token rejected"); err != nil {
				j.log.LogAttrs(ctx, slog.LevelError, "sender.halt_failed", slog.String("alert", AlertAuth), slog.String("error", err.Error()))
			}
		}
	}
	return outcome{fail: true, delay: noDelay}
}

func (s *Sender) halted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Clock.Now().Before(s.haltedUntil)
}

// limiter returns the phone number's token bucket, restoring its full rate once a
// slowdown has run its course.
func (s *Sender) limiter(phoneNumberID string) *rate.Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	nl, ok := s.limiters[phoneNumberID]
	if !ok {
		perInstance := s.perInstanceRate()
		base := rate.Limit(perInstance)
		nl = &numberLimiter{lim: rate.NewLimiter(base, burstFor(perInstance)), base: base}
		s.limiters[phoneNumberID] = nl
	}
	if !nl.slowUntil.IsZero() && !s.Clock.Now().Before(nl.slowUntil) {
		nl.lim.SetLimit(nl.base)
		nl.slowUntil = time.Time{}
	}
	return nl.lim
}

// burstFor lets an instance save up half a second of its share: the gaps between
// batches (reads before the first send of the next batch) are made up instead of
// lost, while all instances together burst at most half a second of the number's
// rate, well inside Meta's (and the stand-in's) one-second bucket.
func burstFor(perInstance float64) int { return max(1, int(math.Ceil(perInstance/2))) }

func (s *Sender) slowDown(phoneNumberID string) {
	lim := s.limiter(phoneNumberID)
	s.mu.Lock()
	defer s.mu.Unlock()
	nl := s.limiters[phoneNumberID]
	// Halve per 130429, down to an eighth: enough to let another sender on the same
	// number through without stalling ours.
	lim.SetLimit(max(lim.Limit()/2, nl.base/8))
	nl.slowUntil = s.Clock.Now().Add(s.Slowdown)
}

// perInstanceRate is the messages per second one sender instance may send from one
// phone number.
func (s *Sender) perInstanceRate() float64 {
	return s.MessagesPerSecond / float64(s.Concurrency)
}

// pauseClinic stops this instance sending for the clinic for Pause. Other
// instances learn it from their own Graph answers; the alert tells the operator.
func (s *Sender) pauseClinic(clinicID string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	until := s.Clock.Now().Add(s.Pause)
	s.paused[clinicID] = until
	return until
}

func (s *Sender) pausedUntil(clinicID string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	until, ok := s.paused[clinicID]
	return until, ok && s.Clock.Now().Before(until)
}
