package memstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// tblReminders maps key(clinicID, appointmentID, kind) to a reminderRec.
const tblReminders = "reminders"

// reminderRec is a stored reminder with the two sparse indexes the DynamoDB store
// keeps beside it: the due index (scheduled reminders, by due second) that the
// sweep reads, and the next-attempt index (queued and sending reminders) that the
// reaper reads. Index times are whole Unix seconds, rounded up, as there.
type reminderRec struct {
	r reminder.Reminder // NextAttemptAt is derived from the index on read

	due        bool
	dueShard   int
	dueAt      int64
	attempt    bool
	attemptSh  int
	nextTry    int64
	leaseUntil int64 // unix ns; 0 when no lease is held
}

func reminderKey(r reminder.Reminder) string { return key(r.ClinicID, r.AppointmentID, string(r.Kind)) }

func reminderOp(verb string, clinicID, appointmentID string, kind reminder.Kind) string {
	return fmt.Sprintf("%s reminder %s/%s/%s", verb, clinicID, appointmentID, kind)
}

// indexSeconds rounds t up to a whole second, so an index entry is never read
// before its instant.
func indexSeconds(t time.Time) int64 {
	sec := t.Unix()
	if t.Nanosecond() > 0 {
		sec++
	}
	return sec
}

// shardOfReminder is the reminder's index shard: by its appointment, so all of one
// appointment's reminders share a shard.
func (s *Store) shardOfReminder(r reminder.Reminder) int {
	return s.shardOf("APPT#" + r.ClinicID + "#" + r.AppointmentID)
}

// newReminderRec is a reminder as SaveAppointment writes it: indexed by its state.
func (s *Store) newReminderRec(r reminder.Reminder) reminderRec {
	r.DueAt, r.NotAfter, r.UpdatedAt = inUTC(r.DueAt), inUTC(r.NotAfter), inUTC(r.UpdatedAt)
	rec := reminderRec{r: r}
	rec.r.NextAttemptAt = time.Time{}
	switch r.State {
	case reminder.StateScheduled:
		rec.due, rec.dueShard, rec.dueAt = true, s.shardOfReminder(r), indexSeconds(r.DueAt)
		rec.r.Attempts, rec.r.Reaps = 0, 0
	case reminder.StateQueued, reminder.StateSending:
		next := r.NextAttemptAt
		if next.IsZero() {
			next = s.now()
		}
		rec.attempt, rec.attemptSh, rec.nextTry = true, s.shardOfReminder(r), indexSeconds(next)
	default:
		rec.r.Attempts, rec.r.Reaps = 0, 0
	}
	return rec
}

// view is the reminder as a caller reads it.
func (rec reminderRec) view() reminder.Reminder {
	r := rec.r
	r.NextAttemptAt = time.Time{}
	if rec.attempt && rec.nextTry != 0 {
		r.NextAttemptAt = time.Unix(rec.nextTry, 0).UTC()
	}
	return r
}

func (rec *reminderRec) indexDue(shard int, at time.Time) {
	rec.due, rec.dueShard, rec.dueAt = true, shard, indexSeconds(at)
}

func (rec *reminderRec) unindexDue() { rec.due, rec.dueShard, rec.dueAt = false, 0, 0 }

func (rec *reminderRec) indexAttempt(shard int, at time.Time) {
	rec.attempt, rec.attemptSh, rec.nextTry = true, shard, indexSeconds(at)
}

func (rec *reminderRec) unindexAttempt() { rec.attempt, rec.attemptSh, rec.nextTry = false, 0, 0 }

// GetReminder returns one reminder; fault.ErrNotFound when there is none.
func (s *Store) GetReminder(_ context.Context, clinicID, appointmentID string, kind reminder.Kind) (reminder.Reminder, error) {
	defer s.lock()()
	rec, ok := get[reminderRec](s, tblReminders, key(clinicID, appointmentID, string(kind)))
	if !ok {
		return reminder.Reminder{}, notFound(reminderOp("get", clinicID, appointmentID, kind))
	}
	return rec.view(), nil
}

// change applies f to the stored reminder r names when cond holds for it, else
// fails with fault.ErrConflict (a missing reminder fails its condition too); the
// caller holds the lock.
func (s *Store) change(op string, r reminder.Reminder, cond func(reminderRec) bool, f func(*reminderRec)) error {
	k := reminderKey(r)
	rec, ok := get[reminderRec](s, tblReminders, k)
	if !ok || !cond(rec) {
		return conflict(op)
	}
	f(&rec)
	rec.r.UpdatedAt = s.now()
	put(s, tblReminders, k, rec)
	return nil
}

func inState(rec reminderRec, gen string, states ...reminder.State) bool {
	return rec.r.Generation == gen && slices.Contains(states, rec.r.State)
}

// MarkQueued moves a scheduled reminder of r's generation to queued, from the due
// index to the next-attempt index.
func (s *Store) MarkQueued(_ context.Context, r reminder.Reminder) error {
	defer s.lock()()
	return s.change(reminderOp("mark queued", r.ClinicID, r.AppointmentID, r.Kind), r,
		func(rec reminderRec) bool { return inState(rec, r.Generation, reminder.StateScheduled) },
		func(rec *reminderRec) {
			rec.r.State = reminder.StateQueued
			rec.indexAttempt(s.shardOfReminder(r), s.now())
			rec.unindexDue()
		})
}

// UnmarkQueued moves a queued reminder of r's generation back to scheduled, due
// again at r.DueAt (the enqueue it was marked for failed).
func (s *Store) UnmarkQueued(_ context.Context, r reminder.Reminder) error {
	defer s.lock()()
	return s.change(reminderOp("unmark queued", r.ClinicID, r.AppointmentID, r.Kind), r,
		func(rec reminderRec) bool { return inState(rec, r.Generation, reminder.StateQueued) },
		func(rec *reminderRec) {
			rec.r.State = reminder.StateScheduled
			rec.indexDue(s.shardOfReminder(r), r.DueAt)
			rec.unindexAttempt()
		})
}

// ClaimSend leases a queued reminder (or a sending one whose lease has expired) of
// r's generation for sending until leaseUntil.
func (s *Store) ClaimSend(_ context.Context, r reminder.Reminder, leaseUntil time.Time) error {
	defer s.lock()()
	now := s.now().UnixNano()
	return s.change(reminderOp("claim send", r.ClinicID, r.AppointmentID, r.Kind), r,
		func(rec reminderRec) bool {
			return rec.r.Generation == r.Generation && (rec.r.State == reminder.StateQueued ||
				(rec.r.State == reminder.StateSending && rec.leaseUntil != 0 && rec.leaseUntil < now))
		},
		func(rec *reminderRec) {
			rec.r.State = reminder.StateSending
			rec.leaseUntil = leaseUntil.UnixNano()
			rec.indexAttempt(s.shardOfReminder(r), leaseUntil)
			rec.r.Reaps = 0
		})
}

// ReleaseSend gives a claimed reminder back to the queue at once after a failed
// attempt, counting the attempt.
func (s *Store) ReleaseSend(ctx context.Context, r reminder.Reminder, reason string, code int) error {
	return s.DeferSend(ctx, r, reminder.Deferral{Reason: reason, ErrorCode: code, Failed: true, Until: s.now()})
}

// DeferSend gives a claimed reminder back to the queue, next tried at d.Until; a
// failed attempt is counted.
func (s *Store) DeferSend(_ context.Context, r reminder.Reminder, d reminder.Deferral) error {
	defer s.lock()()
	return s.change(reminderOp("defer send", r.ClinicID, r.AppointmentID, r.Kind), r,
		func(rec reminderRec) bool { return inState(rec, r.Generation, reminder.StateSending) },
		func(rec *reminderRec) {
			rec.r.State = reminder.StateQueued
			rec.indexAttempt(s.shardOfReminder(r), d.Until)
			rec.leaseUntil = 0
			if d.Failed {
				rec.r.Attempts++
			}
			rec.r.Reason, rec.r.ErrorCode = d.Reason, d.ErrorCode
		})
}

// DeferReminder returns a claimed reminder to scheduled, due again at until (a
// template not yet usable). It stays in the next-attempt index, as in DynamoDB.
func (s *Store) DeferReminder(_ context.Context, r reminder.Reminder, until time.Time, reason string) error {
	defer s.lock()()
	return s.change(reminderOp("defer", r.ClinicID, r.AppointmentID, r.Kind), r,
		func(rec reminderRec) bool { return inState(rec, r.Generation, reminder.StateSending) },
		func(rec *reminderRec) {
			rec.r.State = reminder.StateScheduled
			rec.indexDue(s.shardOfReminder(r), until)
			rec.r.Reason = reason
			rec.leaseUntil = 0
		})
}

// MarkReaped records that the reaper re-enqueued a stalled reminder: next attempt
// at next, one more reap. It loses when the reminder moved since it was listed.
func (s *Store) MarkReaped(_ context.Context, r reminder.Reminder, next time.Time) error {
	defer s.lock()()
	return s.change(reminderOp("mark reaped", r.ClinicID, r.AppointmentID, r.Kind), r,
		func(rec reminderRec) bool {
			return inState(rec, r.Generation, reminder.StateQueued, reminder.StateSending) &&
				rec.attempt && rec.nextTry == r.NextAttemptAt.Unix()
		},
		func(rec *reminderRec) {
			rec.attempt, rec.nextTry = true, indexSeconds(next)
			rec.r.Reaps++
		})
}

// AdvanceReminder moves a reminder to a terminal or later state when its current
// state allows it (and, when u.Generation is set, it is of that generation). false
// when the reminder is in another state; fault.ErrNotFound when it does not exist.
func (s *Store) AdvanceReminder(_ context.Context, clinicID, appointmentID string, kind reminder.Kind, to reminder.State, u reminder.Update) (bool, error) {
	op := reminderOp("advance to "+string(to), clinicID, appointmentID, kind)
	from := reminder.AllowedFrom(to)
	if len(from) == 0 {
		return false, nil
	}
	defer s.lock()()
	k := key(clinicID, appointmentID, string(kind))
	rec, ok := get[reminderRec](s, tblReminders, k)
	if !ok {
		return false, notFound(op)
	}
	if !slices.Contains(from, rec.r.State) || (u.Generation != "" && rec.r.Generation != u.Generation) {
		return false, nil
	}
	rec.r.State = to
	rec.r.UpdatedAt = s.now()
	rec.unindexDue()
	rec.unindexAttempt()
	rec.leaseUntil = 0
	if u.WAMID != "" {
		rec.r.WAMID = u.WAMID
	}
	if u.Reason != "" {
		rec.r.Reason = u.Reason
	}
	if u.ErrorCode != 0 {
		rec.r.ErrorCode = u.ErrorCode
	}
	put(s, tblReminders, k, rec)
	return true, nil
}

// indexCursor is where a listing stopped: the last item's index value and key.
type indexCursor struct {
	At  int64  `json:"at"`
	Key string `json:"key"`
}

// listIndex pages through one shard of an index in (index second, key) order; the
// caller holds the lock. Like a DynamoDB query with a limit, a full page carries a
// cursor even when nothing follows it.
func (s *Store) listIndex(op string, shard int, upTo int64, limit int, startAfter *reminder.Cursor,
	entry func(reminderRec) (bool, int, int64)) ([]reminder.Reminder, *reminder.Cursor, error) {
	if shard < 0 || shard >= s.shards {
		return nil, nil, invalid(op, "shard out of range 0..%d", s.shards-1)
	}
	var after *indexCursor
	if startAfter != nil {
		after = &indexCursor{}
		if err := json.Unmarshal([]byte(startAfter.Token), after); err != nil {
			return nil, nil, invalid(op, "cursor: %v", err)
		}
	}
	type hit struct {
		at  int64
		key string
		rec reminderRec
	}
	var hits []hit
	for k, v := range s.table(tblReminders) {
		rec := v.(reminderRec) // the table holds one type
		in, sh, at := entry(rec)
		if !in || sh != shard || at > upTo {
			continue
		}
		if after != nil && (at < after.At || (at == after.At && k <= after.Key)) {
			continue
		}
		hits = append(hits, hit{at, k, rec})
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].at != hits[j].at {
			return hits[i].at < hits[j].at
		}
		return hits[i].key < hits[j].key
	})
	var cur *reminder.Cursor
	if limit > 0 && len(hits) >= limit {
		hits = hits[:limit]
		last := hits[limit-1]
		b, err := json.Marshal(indexCursor{At: last.at, Key: last.key})
		if err != nil {
			return nil, nil, fmt.Errorf("memstore: %s: cursor: %w", op, err)
		}
		cur = &reminder.Cursor{Token: string(b)}
	}
	out := make([]reminder.Reminder, 0, len(hits))
	for _, h := range hits {
		out = append(out, h.rec.view())
	}
	return out, cur, nil
}

// DueReminders lists a shard's scheduled reminders due by now, earliest first.
func (s *Store) DueReminders(_ context.Context, shard int, now time.Time, limit int, startAfter *reminder.Cursor) ([]reminder.Reminder, *reminder.Cursor, error) {
	defer s.lock()()
	return s.listIndex(fmt.Sprintf("due reminders shard %d", shard), shard, now.Unix(), limit, startAfter,
		func(rec reminderRec) (bool, int, int64) { return rec.due, rec.dueShard, rec.dueAt })
}

// StalledReminders lists a shard's queued and sending reminders whose next attempt
// is due by before, earliest first.
func (s *Store) StalledReminders(_ context.Context, shard int, before time.Time, limit int, startAfter *reminder.Cursor) ([]reminder.Reminder, *reminder.Cursor, error) {
	defer s.lock()()
	return s.listIndex(fmt.Sprintf("stalled reminders shard %d", shard), shard, before.Unix(), limit, startAfter,
		func(rec reminderRec) (bool, int, int64) { return rec.attempt, rec.attemptSh, rec.nextTry })
}
