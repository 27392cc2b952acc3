// Package metrics is the clinic's numbers: counters kept per clinic per local day
// as events happen, and the totals and rates computed from them. Pure Go.
//
// # Facts, counted once
//
// Every event that moves a number is a Fact: the clinic, the clinic-local date it
// belongs to, the counters it adds to, and a Key naming the event itself (the
// appointment whose no-show it is, the message whose delivery it is). The store
// counts a fact at most once per Key: it adds to the day's counters in the same
// transaction as a conditional put of a marker for the key, so an SQS redelivery,
// an EHR retry or a second status webhook for the same message adds nothing. Keys
// are hashed here, so markers carry no wamid (wamids embed phone numbers).
//
// # Days
//
// A day is the clinic's local calendar date (IANA zone), so a DST day has 23 or
// 25 hours and still one bucket; a week is an ISO week in the same zone (Monday
// to Sunday). The range a report can cover is bounded (MaxRangeDays), and a
// report reads one item per day in it, whatever the number of appointments.
package metrics

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
)

// Counter names: the attribute names of a day item and the names in a report.
const (
	RemindersSent      = "remindersSent"
	RemindersDelivered = "remindersDelivered"
	RemindersRead      = "remindersRead"
	// RemindedAppointments counts appointments with at least one reminder sent:
	// the denominator of the answer rates.
	RemindedAppointments = "remindedAppointments"
	Bookings             = "bookings"
	Confirmations        = "confirmations"
	CancelRequests       = "cancelRequests"
	RescheduleRequests   = "rescheduleRequests"
	CancellationsByEHR   = "cancellationsByEhr"
	NoShows              = "noShows"
	// NoShowsConfirmed counts no-shows of appointments the patient had confirmed
	// (the rest are NoShows - NoShowsConfirmed).
	NoShowsConfirmed = "noShowsConfirmed"
	OptOuts          = "optOuts"
	FeedbackSum      = "feedbackSum"
	FeedbackCount    = "feedbackCount"
	// Freed slots: released by the EHR (a slot PUT free, or a cancelled
	// appointment in it), offered to at least one waitlisted patient, filled by an
	// accepted offer; ReleaseToFillMinutes sums the minutes from release to fill of
	// the filled ones (their average is the sum over SlotsFilled).
	SlotsFreed           = "slotsFreed"
	SlotsOffered         = "slotsOffered"
	SlotsFilled          = "slotsFilled"
	ReleaseToFillMinutes = "releaseToFillMinutes"

	prefixCategory = "messages_"    // + pricing category: messages Meta priced
	prefixBillable = "billable_"    // + pricing category: of those, billable
	prefixHandOff  = "handOffLe_"   // + bucket index: hand-offs answered within the bound
	handOffOver    = "handOffOver"  // answered after the last bound
	categoryOther  = "other"        // a category that is not a plain word
	zoneFallback   = "Etc/UTC"      // never used for a validated clinic
	keyPrefix      = "metrics-fact" // domain separation of the hashed keys
)

// Fact is one event's contribution to a clinic's day.
type Fact struct {
	ClinicID string
	// Day is the clinic-local date, "2006-01-02".
	Day string
	// Key identifies the event: a fact with a key already counted adds nothing.
	Key string
	Add map[string]int64
}

// Counters returns the names Add touches, sorted, for logs and metrics.
func (f Fact) Counters() []string {
	out := make([]string, 0, len(f.Add))
	for k := range f.Add {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var locations sync.Map // zone name -> *time.Location

func location(zone string) *time.Location {
	if l, ok := locations.Load(zone); ok {
		return l.(*time.Location)
	}
	l, err := time.LoadLocation(zone)
	if err != nil || zone == "" {
		l, _ = time.LoadLocation(zoneFallback)
	}
	locations.Store(zone, l)
	return l
}

// LocalDay is the clinic-local date of an instant in zone (an IANA name).
func LocalDay(zone string, at time.Time) string {
	return at.In(location(zone)).Format(time.DateOnly)
}

func newFact(clinicID, zone string, at time.Time, identity string, add map[string]int64) Fact {
	sum := sha256.Sum256([]byte(keyPrefix + "\x00" + clinicID + "\x00" + identity))
	return Fact{ClinicID: clinicID, Day: LocalDay(zone, at), Key: hex.EncodeToString(sum[:16]), Add: add}
}

// FromAppointment is what an appointment's stored state counts, each at most once
// per appointment: booked (once the EHR has booked it, whatever happens after),
// cancelled by the EHR, and a no-show, split by whether the patient had confirmed.
// Deriving facts from the state rather than from the change lets a retried EHR
// request count what its first attempt stored but could not count.
func FromAppointment(zone string, a appointment.Appointment) []Fact {
	var out []Fact
	at := a.UpdatedAt
	switch a.Status {
	case appointment.StatusBooked, appointment.StatusArrived, appointment.StatusCheckedIn,
		appointment.StatusFulfilled, appointment.StatusNoShow:
		out = append(out, newFact(a.ClinicID, zone, at, "booked\x00"+a.ID, map[string]int64{Bookings: 1}))
	case appointment.StatusCancelled:
		out = append(out, newFact(a.ClinicID, zone, at, "cancelled-by-ehr\x00"+a.ID, map[string]int64{CancellationsByEHR: 1}))
	}
	if a.Status == appointment.StatusNoShow {
		add := map[string]int64{NoShows: 1}
		if a.Response == appointment.ResponseConfirmed {
			add[NoShowsConfirmed] = 1
		}
		out = append(out, newFact(a.ClinicID, zone, at, "noshow\x00"+a.ID, add))
	}
	return out
}

// Answer counts a patient's answer to a reminder, once per appointment and kind
// of answer (a patient who confirms twice confirmed one appointment).
func Answer(clinicID, zone, appointmentID string, r appointment.Response, at time.Time) []Fact {
	var counter string
	switch r {
	case appointment.ResponseConfirmed:
		counter = Confirmations
	case appointment.ResponseCancelledByPatient:
		counter = CancelRequests
	case appointment.ResponseRescheduleRequested:
		counter = RescheduleRequests
	default:
		return nil
	}
	return []Fact{newFact(clinicID, zone, at, "answer\x00"+string(r)+"\x00"+appointmentID, map[string]int64{counter: 1})}
}

// Delivery statuses of a reminder, as Meta names them.
const (
	StatusSent      = "sent"
	StatusDelivered = "delivered"
	StatusRead      = "read"
)

// ReminderStatus counts a status webhook for a reminder whose message was in
// status before (Meta's name, or "" / "accepted" before any status). Meta may
// skip "delivered" (a "read" arrives alone), so a status counts every step after
// before up to its own; each step is keyed by the message, so it counts once
// whatever order or how often the webhooks arrive. The first "sent" also counts
// the appointment as reminded.
func ReminderStatus(clinicID, zone, wamid, appointmentID, before, status string, at time.Time) []Fact {
	steps := []struct{ status, counter string }{
		{StatusSent, RemindersSent}, {StatusDelivered, RemindersDelivered}, {StatusRead, RemindersRead},
	}
	from, to := -1, -1
	for i, s := range steps {
		if s.status == before {
			from = i
		}
		if s.status == status {
			to = i
		}
	}
	if to < 0 {
		return nil
	}
	if from >= to {
		// Redelivered, or a late status behind a later one: what it would count
		// was counted with the status that moved the message, or is counted now.
		from = to - 1
	}
	var out []Fact
	if from < 0 {
		out = append(out, newFact(clinicID, zone, at, "reminded\x00"+appointmentID, map[string]int64{RemindedAppointments: 1}))
	}
	for _, s := range steps[from+1 : to+1] {
		out = append(out, newFact(clinicID, zone, at, "status\x00"+s.status+"\x00"+wamid, map[string]int64{s.counter: 1}))
	}
	return out
}

// plainCategory is ^[a-z][a-z_]{0,39}$, checked by hand: a package-level regexp
// would be compiled by every cold start of the functions linking this package.
func plainCategory(c string) bool {
	if len(c) < 1 || len(c) > 40 || c[0] < 'a' || c[0] > 'z' {
		return false
	}
	for i := 1; i < len(c); i++ {
		if (c[i] < 'a' || c[i] > 'z') && c[i] != '_' {
			return false
		}
	}
	return true
}

// Category is the counter suffix of a Meta pricing category: lower case, and
// "other" for anything that is not a plain word (it becomes an attribute name).
func Category(c string) string {
	c = strings.ToLower(strings.TrimSpace(c))
	if !plainCategory(c) {
		return categoryOther
	}
	return c
}

// Priced counts one message Meta priced (the pricing object of its status
// webhooks; every status of a message carries the same, so the caller counts the
// first status's, and the key keeps a message to one count).
func Priced(clinicID, zone, wamid, category string, billable bool, at time.Time) []Fact {
	cat := Category(category)
	add := map[string]int64{prefixCategory + cat: 1}
	if billable {
		add[prefixBillable+cat] = 1
	}
	return []Fact{newFact(clinicID, zone, at, "priced\x00"+wamid, add)}
}

// OptOut counts a STOP that opted a number out, keyed by the message that did.
func OptOut(clinicID, zone, wamid string, at time.Time) []Fact {
	return []Fact{newFact(clinicID, zone, at, "optout\x00"+wamid, map[string]int64{OptOuts: 1})}
}

// Feedback counts one feedback score (1-5), once per feedback id.
func Feedback(clinicID, zone, feedbackID string, score int, at time.Time) ([]Fact, error) {
	if score < 1 || score > 5 {
		return nil, fmt.Errorf("metrics: feedback score %d is not 1-5", score)
	}
	return []Fact{newFact(clinicID, zone, at, "feedback\x00"+feedbackID, map[string]int64{FeedbackSum: int64(score), FeedbackCount: 1})}, nil
}

// HandOffBounds are the upper bounds of the hand-off-to-answer histogram. A
// median over any range is computed from the summed buckets, so it is known to
// the bucket: the answer says the median lies in (lower, upper].
var HandOffBounds = []time.Duration{
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	45 * time.Minute, time.Hour, 90 * time.Minute, 2 * time.Hour, 3 * time.Hour, 4 * time.Hour,
	6 * time.Hour, 8 * time.Hour, 12 * time.Hour, 16 * time.Hour, 24 * time.Hour, 36 * time.Hour,
	48 * time.Hour, 72 * time.Hour,
}

func handOffCounter(i int) string {
	if i >= len(HandOffBounds) {
		return handOffOver
	}
	return fmt.Sprintf("%s%02d", prefixHandOff, i)
}

// HandOffAnswered counts the time from a hand-off to staff to the first staff
// answer in that conversation, on the day of the hand-off. The conversation code
// calls it when staff first answer; handOffID names the hand-off (a conversation
// handed off twice gives two ids), so a retried answer counts once.
func HandOffAnswered(clinicID, zone, handOffID string, handedOffAt, answeredAt time.Time) []Fact {
	d := answeredAt.Sub(handedOffAt)
	i := 0
	for i < len(HandOffBounds) && d > HandOffBounds[i] {
		i++
	}
	return []Fact{newFact(clinicID, zone, handedOffAt, "handoff\x00"+handOffID, map[string]int64{handOffCounter(i): 1})}
}

// A freed slot is named by the slot and the instant it was released, since the
// same slot can be freed, filled and freed again.
func releaseID(slotID string, releasedAt time.Time) string {
	return slotID + "\x00" + releasedAt.UTC().Format(time.RFC3339Nano)
}

// SlotFreed counts a slot the EHR released, once per release, on the release's day.
func SlotFreed(clinicID, zone, slotID string, releasedAt time.Time) []Fact {
	return []Fact{newFact(clinicID, zone, releasedAt, "slot-freed\x00"+releaseID(slotID, releasedAt), map[string]int64{SlotsFreed: 1})}
}

// SlotOffered counts a freed slot's first wave of offers: once per release
// however many waves and patients, on the release's day.
func SlotOffered(clinicID, zone, slotID string, releasedAt time.Time) []Fact {
	return []Fact{newFact(clinicID, zone, releasedAt, "slot-offered\x00"+releaseID(slotID, releasedAt), map[string]int64{SlotsOffered: 1})}
}

// SlotFilled counts a freed slot an offer filled, once per release, with the
// whole minutes from release to fill (rounded to the nearest), on the release's
// day so a day's fill rate divides counts of the same slots.
func SlotFilled(clinicID, zone, slotID string, releasedAt, filledAt time.Time) []Fact {
	minutes := int64(filledAt.Sub(releasedAt).Round(time.Minute) / time.Minute)
	if minutes < 0 {
		minutes = 0
	}
	return []Fact{newFact(clinicID, zone, releasedAt, "slot-filled\x00"+releaseID(slotID, releasedAt),
		map[string]int64{SlotsFilled: 1, ReleaseToFillMinutes: minutes})}
}
