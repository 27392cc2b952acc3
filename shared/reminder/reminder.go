// Package reminder computes each appointment's reminder plan and decides, at send
// time, whether a reminder is still worth sending. Pure Go.
package reminder

import (
	"time"
)

// Kind is one step of a reminder policy.
type Kind string

// Reminder kinds of the default policy.
const (
	KindDayBefore Kind = "pre48h"   // details + Confirm / Reschedule / Cancel
	KindSameDay   Kind = "pre2h"    // short
	KindFollowUp  Kind = "followup" // after a fulfilled visit
)

// State is a reminder's lifecycle state. It only moves forward (see Rank).
type State string

// Reminder states.
const (
	StateScheduled State = "scheduled" // waiting in the due index
	StateQueued    State = "queued"    // on the outbound queue
	StateSending   State = "sending"   // claimed by a sender
	StateSent      State = "sent"      // accepted by the Graph API (wamid known)
	StateDelivered State = "delivered"
	StateRead      State = "read"
	StateFailed    State = "failed"
	StateSkipped   State = "skipped"   // not sent on purpose, with a reason
	StateCancelled State = "cancelled" // the appointment changed so this reminder no longer applies
)

// Reminder is one planned message for one appointment.
type Reminder struct {
	ClinicID      string
	AppointmentID string
	Kind          Kind
	DueAt         time.Time
	// NotAfter is the last moment the reminder is still useful; after it the reminder
	// is skipped, never sent late.
	NotAfter time.Time
	State    State
	Reason   string // why skipped / failed / cancelled
	// ErrorCode is the Graph API error code of a failed send.
	ErrorCode int
	WAMID     string
	// Generation ties a reminder to the appointment start it was planned for, so a
	// message queued for an old start time is recognised as moved.
	Generation string
	UpdatedAt  time.Time
	// Attempts counts sends that failed for reasons outside the message (a Graph API
	// outage, throttling). It lives on the reminder, not on the queue message, so
	// the retry backoff survives redelivery and re-enqueueing.
	Attempts int
	// NextAttemptAt is, while the reminder is queued or sending, when a sender is
	// expected to look at it again (a retry's time, the end of a send lease). Long
	// past, the reminder's job was lost and the reaper enqueues a new one.
	NextAttemptAt time.Time
	// Reaps counts how often the reaper re-enqueued the reminder since its last
	// claim; it spaces out re-enqueues while no sender consumes the queue.
	Reaps int
}

// Pending reports whether the reminder has not been handed to WhatsApp yet.
func (r Reminder) Pending() bool {
	return r.State == StateScheduled || r.State == StateQueued || r.State == StateSending
}

// Write is one reminder change saved with its appointment. ExpectedState ""
// means the reminder must not exist yet; otherwise the stored state must equal it,
// so a plan change cannot overwrite a reminder a sender claimed in the meantime.
type Write struct {
	Reminder      Reminder
	ExpectedState State
}

// Update carries what a state move learned: the wamid of a send, the reason for a
// skip or failure, the Graph API error code.
type Update struct {
	WAMID, Reason string
	ErrorCode     int
	// Generation, when set, makes the move conditional on the reminder still being
	// the one planned for that start time: news about an old send (a late status, a
	// stale job) must not move a reminder re-planned for a new time.
	Generation string
}

// Deferral gives a claimed reminder back for a later attempt.
type Deferral struct {
	Reason    string
	ErrorCode int
	// Failed counts the wait as a failed attempt (an outage, throttling), which
	// lengthens the next backoff; quiet hours and pacing are not failures.
	Failed bool
	// Until is the reminder's next attempt time.
	Until time.Time
}

// Cursor continues a listing of reminders after the last one returned; its token
// belongs to the store that returned it.
type Cursor struct{ Token string }
