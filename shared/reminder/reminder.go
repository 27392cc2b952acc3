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
