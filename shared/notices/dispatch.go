package notices

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/notice"
)

// DueStore finds and claims the notices whose time came (the DynamoDB store: due markers
// in the appointments table's due index, under notice shards of their own).
type DueStore interface {
	Shards() int
	DueNotices(ctx context.Context, shard int, now time.Time, limit int) ([]notice.Due, error)
	MoveNoticeDue(ctx context.Context, d notice.Due, to time.Time) error
}

// ClinicReader reads the clinic file a notice is sent under.
type ClinicReader interface {
	GetClinic(ctx context.Context, id string) (clinic.Clinic, error)
}

// Dispatch defaults.
const (
	// DefaultDispatchLimit bounds one run's work: each notice costs a few reads and
	// a hand-off, and what is left stays due for the next run a minute later.
	DefaultDispatchLimit = 200
	// DispatchLease is how long a claimed notice stays out of the index: a run that
	// dies after its claim leaves the notice to come due again after it.
	DispatchLease = 5 * time.Minute
	// dispatchMargin stops a run this long before its invocation's deadline.
	dispatchMargin = 3 * time.Second
)

// Dispatcher hands notices to the Outbox when their time comes: a notice accepted
// in quiet hours when they end, a recall on its date, a feedback question the
// clinic's delay after the visit. It runs on the reminder sweep's schedule.
//
// Each due notice is claimed by moving its marker a lease ahead (a conditional
// write: of overlapping runs one wins), then settled: handed to the Outbox, held
// to the end of quiet hours, or failed (expired, opted out, no consent, no address)
// with one message.failed; only then is its marker deleted. A run that dies in
// between leaves the marker to come due after the lease, and the Outbox sends a
// notice once however often it is handed over.
type Dispatcher struct {
	Service *Service
	Due     DueStore
	Clinics ClinicReader
	// Limit is the most notices one run settles; DefaultDispatchLimit when 0.
	Limit int
}

// DispatchStats describes one run.
type DispatchStats struct {
	Due     int // markers read
	Handed  int // given to the Outbox
	Failed  int // failed with message.failed (expired, opted out, ...)
	Held    int // moved to the end of the clinic's quiet hours
	Lost    int // another run claimed it first
	Settled int // already sent, failed or answered: marker removed
}

// attrs are the run's figures for its log line.
func (st DispatchStats) attrs() []slog.Attr {
	return []slog.Attr{slog.Int("due", st.Due), slog.Int("handed", st.Handed), slog.Int("failed", st.Failed),
		slog.Int("held", st.Held), slog.Int("lost", st.Lost), slog.Int("settled", st.Settled)}
}

// Dispatch settles the notices due now, at most Limit of them, shard by shard.
// Errors of one notice do not stop the others; all are returned together.
func (d *Dispatcher) Dispatch(ctx context.Context) (DispatchStats, error) {
	s := d.Service
	now := s.Clock.Now().UTC()
	limit := d.Limit
	if limit <= 0 {
		limit = DefaultDispatchLimit
	}
	deadline, hasDeadline := ctx.Deadline()
	var (
		st      DispatchStats
		errs    []error
		clinics = map[string]clinic.Clinic{}
	)
	n := d.Due.Shards()
	// Start at a different shard each minute, as the sweep does, so that under a
	// backlog larger than one run every shard gets its turn first.
	first := int(now.Unix()/60) % max(n, 1)
	for k := 0; k < n && st.Due < limit; k++ {
		if ctx.Err() != nil || hasDeadline && time.Until(deadline) < dispatchMargin {
			break
		}
		shard := (first + k) % n
		due, err := d.Due.DueNotices(ctx, shard, now, limit-st.Due)
		if err != nil {
			errs = append(errs, fmt.Errorf("notices: dispatch shard %d: %w", shard, err))
			continue
		}
		for _, m := range due {
			if hasDeadline && time.Until(deadline) < dispatchMargin {
				break
			}
			st.Due++
			if err := d.one(ctx, m, now, clinics, &st); err != nil {
				errs = append(errs, err)
			}
		}
	}
	s.log().LogAttrs(ctx, slog.LevelInfo, "notices.dispatched", st.attrs()...)
	return st, errors.Join(errs...)
}

func (d *Dispatcher) one(ctx context.Context, m notice.Due, now time.Time, clinics map[string]clinic.Clinic, st *DispatchStats) error {
	s := d.Service
	leaseEnd := now.Add(DispatchLease)
	if err := d.Due.MoveNoticeDue(ctx, m, leaseEnd); errors.Is(err, fault.ErrConflict) {
		st.Lost++
		return nil
	} else if err != nil {
		return fmt.Errorf("notices: claim %s: %w", m.NoticeID, err)
	}
	m.At = leaseEnd
	n, err := s.Store.GetNotice(ctx, m.ClinicID, m.PatientID, m.NoticeID)
	if errors.Is(err, fault.ErrNotFound) {
		st.Settled++
		s.doneWith(ctx, m.ClinicID, m.NoticeID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("notices: dispatch %s: %w", m.NoticeID, err)
	}
	c, ok := clinics[m.ClinicID]
	if !ok {
		c, err = d.Clinics.GetClinic(ctx, m.ClinicID)
		if errors.Is(err, fault.ErrNotFound) {
			// An offboarded clinic: nobody to send for and nobody to tell.
			s.log().Warn("notice.clinic_missing", "clinic_id", m.ClinicID, "notice_id", m.NoticeID)
			st.Settled++
			s.doneWith(ctx, m.ClinicID, m.NoticeID)
			return nil
		}
		if err != nil {
			return fmt.Errorf("notices: dispatch %s: %w", m.NoticeID, err)
		}
		clinics[m.ClinicID] = c
	}
	switch n.State {
	case notice.StateQueued:
	case notice.StateFailed:
		// Failed with its marker still here: the run that failed it may have died
		// before the clinic was told. The event id is stable, so telling it again
		// is one message.failed to the clinic.
		if err := s.publishFailed(ctx, n, n.Reason); err != nil {
			return err
		}
		st.Settled++
		s.doneWith(ctx, m.ClinicID, m.NoticeID)
		return nil
	default:
		st.Settled++
		s.doneWith(ctx, m.ClinicID, m.NoticeID)
		return nil
	}
	if now.Before(n.NotBefore) {
		// Listed early (the index keeps whole seconds): back to its time.
		return wrapLost(d.Due.MoveNoticeDue(ctx, m, n.NotBefore), m, st)
	}
	out, err := s.release(ctx, c, n)
	if err != nil {
		return err
	}
	switch {
	case !out.holdUntil.IsZero():
		st.Held++
		return wrapLost(d.Due.MoveNoticeDue(ctx, m, out.holdUntil), m, st)
	case out.failed:
		st.Failed++
	default:
		st.Handed++
	}
	return nil
}

// wrapLost treats a lost move as someone else's progress, not an error.
func wrapLost(err error, m notice.Due, st *DispatchStats) error {
	if errors.Is(err, fault.ErrConflict) {
		st.Lost++
		return nil
	}
	if err != nil {
		return fmt.Errorf("notices: move %s: %w", m.NoticeID, err)
	}
	return nil
}
