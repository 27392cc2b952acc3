// Package messagelog is the record of every WhatsApp message Frontdesk sent or
// received, keyed by wamid, with a delivery status that only moves forward. Pure Go.
package messagelog

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Direction of a message.
type Direction string

// Directions.
const (
	Outbound Direction = "out"
	Inbound  Direction = "in"
)

// Status of an outbound message as WhatsApp reports it.
type Status string

// Statuses, in the order they can be reached.
const (
	StatusAccepted  Status = "accepted" // the Graph API returned a wamid
	StatusSent      Status = "sent"
	StatusDelivered Status = "delivered"
	StatusRead      Status = "read"
	StatusFailed    Status = "failed"
	StatusReceived  Status = "received" // inbound
)

// Record is one message. It carries ids and codes, never the text or the phone number.
type Record struct {
	WAMID         string
	Direction     Direction
	ClinicID      string
	PatientID     string
	AppointmentID string // set for reminders and answers to them
	ReminderKind  string // set for reminders
	NoticeID      string // set for notices: a status moves the notice too
	// Generation is the reminder's plan generation when it was sent: a late status
	// for this message must not move a reminder re-planned since (visit moved).
	Generation string
	Type       string // template, interactive, text, button, image ...
	Status     Status
	ErrorCode  int
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Retention is how long message records are kept (DynamoDB TTL).
const Retention = 90 * 24 * time.Hour

// rank orders statuses: a status update applies only when it moves forward. Failed
// may follow sent or delivered (WhatsApp reports it late) but never read.
var rank = map[Status]int{StatusAccepted: 1, StatusSent: 2, StatusDelivered: 3, StatusFailed: 4, StatusRead: 5}

// AllowedFrom lists the statuses a record may be in for a move to to. An empty list
// means the move is never allowed.
func AllowedFrom(to Status) []Status {
	var from []Status
	for s, r := range rank {
		if r < rank[to] && !(to == StatusRead && s == StatusFailed) {
			from = append(from, s)
		}
	}
	return from
}

// CanAdvance reports whether a record in from may move to to.
func CanAdvance(from, to Status) bool {
	for _, s := range AllowedFrom(to) {
		if s == from {
			return true
		}
	}
	return false
}

// ID is Frontdesk's own id for the message with this wamid, for whatever leaves
// Frontdesk (clinic callbacks, consent evidence): a wamid embeds the patient's phone
// number. It is stable, so a retried callback carries the same id, and one-way,
// because a wamid also carries a random part that cannot be guessed from the number.
func ID(wamid string) string {
	sum := sha256.Sum256([]byte("frontdesk-message:" + wamid))
	return "msg_" + hex.EncodeToString(sum[:12])
}
