package metrics

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// MaxRangeDays bounds a report: a year, leap years included.
const MaxRangeDays = 366

// Interval is how a report groups days.
type Interval string

// Intervals.
const (
	Day  Interval = "day"
	Week Interval = "week" // ISO week, Monday to Sunday, in the clinic's zone
)

// Query is one report request: clinic-local dates, both inclusive.
type Query struct {
	From, To time.Time // midnight UTC of the local dates, so date arithmetic never meets DST
	Interval Interval
}

// Days is the number of local dates the query covers.
func (q Query) Days() int { return int(q.To.Sub(q.From).Hours()/24) + 1 }

// FromDay and ToDay are the query's dates as day keys.
func (q Query) FromDay() string { return q.From.Format(time.DateOnly) }
func (q Query) ToDay() string   { return q.To.Format(time.DateOnly) }

// dateOnly is ^[0-9]{4}-[0-9]{2}-[0-9]{2}$, checked by hand (no package-level
// regexp to compile at every cold start).
func dateOnly(s string) bool {
	if len(s) != 10 {
		return false
	}
	for i := range len(s) {
		if i == 4 || i == 7 {
			if s[i] != '-' {
				return false
			}
		} else if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParseQuery checks a report request and returns every problem at once.
// interval "" means day.
func ParseQuery(from, to, interval string) (Query, error) {
	var bad []string
	date := func(name, s string) time.Time {
		t, err := time.Parse(time.DateOnly, s)
		switch {
		case s == "":
			bad = append(bad, name+" is required (a date in the clinic's time zone, e.g. 2026-11-01)")
		case !dateOnly(s) || err != nil:
			bad = append(bad, name+" must be a calendar date YYYY-MM-DD (the clinic's local date)")
		case t.Year() < 2000 || t.Year() > 9999:
			bad = append(bad, name+" must be between the years 2000 and 9999")
		default:
			return t
		}
		return time.Time{}
	}
	q := Query{From: date("from", from), To: date("to", to), Interval: Interval(interval)}
	if q.Interval == "" {
		q.Interval = Day
	}
	if q.Interval != Day && q.Interval != Week {
		bad = append(bad, "interval must be day or week")
	}
	if !q.From.IsZero() && !q.To.IsZero() {
		switch {
		case q.To.Before(q.From):
			bad = append(bad, "from must not be after to")
		case q.Days() > MaxRangeDays:
			bad = append(bad, fmt.Sprintf("the range from..to must be at most %d days", MaxRangeDays))
		}
	}
	if len(bad) > 0 {
		return Query{}, errors.New(strings.Join(bad, "; "))
	}
	return q, nil
}

// DayCounts is one stored day of one clinic.
type DayCounts struct {
	Day    string
	Counts map[string]int64
}

// RateCard prices Meta's billable messages by pricing category.
type RateCard struct {
	Currency string             `json:"currency"`
	AsOf     string             `json:"asOf"` // the date the rates were taken from Meta's rate card
	Rates    map[string]float64 `json:"rates"`
}

// DefaultRateCard is Meta's per-message price for the United States and Canada
// from its rate card of 2025-07-01 (when per-message pricing began), in USD. It is
// an estimate: set the clinic's own market and current rates in its clinic file.
func DefaultRateCard() RateCard {
	return RateCard{Currency: "USD", AsOf: "2025-07-01", Rates: map[string]float64{
		"marketing": 0.025, "utility": 0.004, "authentication": 0.0135, "service": 0,
	}}
}

// Validate reports a rate card a clinic file cannot use.
func (r RateCard) Validate() error {
	var bad []string
	if len(r.Currency) != 3 || strings.ToUpper(r.Currency) != r.Currency {
		bad = append(bad, "currency must be an ISO 4217 code such as USD")
	}
	if _, err := time.Parse(time.DateOnly, r.AsOf); err != nil {
		bad = append(bad, "asOf must be the date of the rates, YYYY-MM-DD")
	}
	for cat, v := range r.Rates {
		if Category(cat) != cat || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			bad = append(bad, fmt.Sprintf("rates[%q] must be a lower-case category with a price of 0 or more", cat))
		}
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		return errors.New("rateCard: " + strings.Join(bad, "; "))
	}
	return nil
}

// CategoryCount is the messages of one pricing category.
type CategoryCount struct {
	Messages      int64   `json:"messages"`
	Billable      int64   `json:"billable"`
	EstimatedCost float64 `json:"estimatedCost"`
}

// HandOffAnswer summarises the hand-off-to-staff-answer histogram. The median is
// known to a bucket: it lies in (MedianOverSeconds, MedianAtMostSeconds]; a
// median beyond the last bound has MedianAtMostSeconds nil.
type HandOffAnswer struct {
	Count               int64  `json:"count"`
	MedianOverSeconds   *int64 `json:"medianOverSeconds"`
	MedianAtMostSeconds *int64 `json:"medianAtMostSeconds"`
}

// FeedbackScores is the feedback scores' count and average (nil without scores).
type FeedbackScores struct {
	Count   int64    `json:"count"`
	Average *float64 `json:"average"`
}

// Rates are ratios of counts of the same period, rounded to 4 decimals; nil
// where the denominator is 0.
type Rates struct {
	// Per reminded appointment.
	Confirmation *float64 `json:"confirmation"`
	Cancellation *float64 `json:"cancellation"`
	Reschedule   *float64 `json:"reschedule"`
	// Per booked appointment; the split divides by confirmed, and by booked but
	// not confirmed, appointments.
	NoShow            *float64 `json:"noShow"`
	NoShowConfirmed   *float64 `json:"noShowConfirmed"`
	NoShowUnconfirmed *float64 `json:"noShowUnconfirmed"`
	// Per freed slot: the share an accepted offer filled.
	Fill *float64 `json:"fill"`
}

// Period is the numbers of a run of days.
type Period struct {
	Start string `json:"start"` // first local date, inclusive
	End   string `json:"end"`   // last local date, inclusive
	Week  string `json:"isoWeek,omitempty"`

	RemindersSent        int64 `json:"remindersSent"`
	RemindersDelivered   int64 `json:"remindersDelivered"`
	RemindersRead        int64 `json:"remindersRead"`
	RemindedAppointments int64 `json:"remindedAppointments"`
	Bookings             int64 `json:"bookings"`
	Confirmations        int64 `json:"confirmations"`
	CancelRequests       int64 `json:"cancelRequests"`
	RescheduleRequests   int64 `json:"rescheduleRequests"`
	CancellationsByEHR   int64 `json:"cancellationsByEhr"`
	NoShows              int64 `json:"noShows"`
	NoShowsConfirmed     int64 `json:"noShowsConfirmed"`
	NoShowsUnconfirmed   int64 `json:"noShowsUnconfirmed"`
	OptOuts              int64 `json:"optOuts"`
	SlotsFreed           int64 `json:"slotsFreed"`
	SlotsOffered         int64 `json:"slotsOffered"`
	SlotsFilled          int64 `json:"slotsFilled"`
	// ReleaseToFillMinutes is the average of the filled slots' minutes from
	// release to fill; nil when none was filled.
	ReleaseToFillMinutes *float64 `json:"releaseToFillMinutes"`

	Feedback      FeedbackScores           `json:"feedback"`
	HandOffAnswer HandOffAnswer            `json:"handOffToStaffAnswer"`
	Messages      map[string]CategoryCount `json:"messagesByCategory"`
	EstimatedCost float64                  `json:"estimatedCost"`
	Rates         Rates                    `json:"rates"`
}

// Report is a clinic's numbers over a range.
type Report struct {
	From     string   `json:"from"`
	To       string   `json:"to"`
	Interval Interval `json:"interval"`
	RateCard RateCard `json:"rateCard"`
	Total    Period   `json:"total"`
	Periods  []Period `json:"periods"`
}

// Summarise groups stored days into the query's periods and computes each
// period's totals and rates. Days outside the query are ignored; days without
// an item count zero.
func Summarise(q Query, days []DayCounts, card RateCard) Report {
	byDay := make(map[string]map[string]int64, len(days))
	for _, d := range days {
		if byDay[d.Day] == nil {
			byDay[d.Day] = map[string]int64{}
		}
		for k, v := range d.Counts {
			byDay[d.Day][k] += v
		}
	}
	r := Report{From: q.FromDay(), To: q.ToDay(), Interval: q.Interval, RateCard: card, Periods: []Period{}}
	total := map[string]int64{}
	var cur map[string]int64
	var start time.Time
	flush := func(end time.Time) {
		p := period(start, end, cur, card)
		if q.Interval == Week {
			y, w := start.ISOWeek()
			p.Week = fmt.Sprintf("%04d-W%02d", y, w)
		}
		r.Periods = append(r.Periods, p)
	}
	for d := q.From; !d.After(q.To); d = d.AddDate(0, 0, 1) {
		if cur == nil {
			cur, start = map[string]int64{}, d
		}
		for k, v := range byDay[d.Format(time.DateOnly)] {
			cur[k] += v
			total[k] += v
		}
		next := d.AddDate(0, 0, 1)
		if q.Interval == Day || next.Weekday() == time.Monday || next.After(q.To) {
			flush(d)
			cur = nil
		}
	}
	r.Total = period(q.From, q.To, total, card)
	return r
}

func period(start, end time.Time, c map[string]int64, card RateCard) Period {
	p := Period{
		Start: start.Format(time.DateOnly), End: end.Format(time.DateOnly),
		RemindersSent: c[RemindersSent], RemindersDelivered: c[RemindersDelivered], RemindersRead: c[RemindersRead],
		RemindedAppointments: c[RemindedAppointments], Bookings: c[Bookings], Confirmations: c[Confirmations],
		CancelRequests: c[CancelRequests], RescheduleRequests: c[RescheduleRequests],
		CancellationsByEHR: c[CancellationsByEHR], NoShows: c[NoShows], NoShowsConfirmed: c[NoShowsConfirmed],
		NoShowsUnconfirmed: c[NoShows] - c[NoShowsConfirmed], OptOuts: c[OptOuts],
		SlotsFreed: c[SlotsFreed], SlotsOffered: c[SlotsOffered], SlotsFilled: c[SlotsFilled],
		Feedback: FeedbackScores{Count: c[FeedbackCount]}, Messages: map[string]CategoryCount{},
	}
	if n := c[FeedbackCount]; n > 0 {
		avg := round(float64(c[FeedbackSum])/float64(n), 2)
		p.Feedback.Average = &avg
	}
	if n := c[SlotsFilled]; n > 0 {
		avg := round(float64(c[ReleaseToFillMinutes])/float64(n), 1)
		p.ReleaseToFillMinutes = &avg
	}
	p.HandOffAnswer = handOffMedian(c)
	for k, v := range c {
		if cat, ok := strings.CutPrefix(k, prefixCategory); ok {
			cc := p.Messages[cat]
			cc.Messages += v
			p.Messages[cat] = cc
		}
		if cat, ok := strings.CutPrefix(k, prefixBillable); ok {
			cc := p.Messages[cat]
			cc.Billable += v
			p.Messages[cat] = cc
		}
	}
	for cat, cc := range p.Messages {
		cc.EstimatedCost = round(float64(cc.Billable)*card.Rates[cat], 4)
		p.Messages[cat] = cc
		p.EstimatedCost += cc.EstimatedCost
	}
	p.EstimatedCost = round(p.EstimatedCost, 4)
	p.Rates = Rates{
		Confirmation:      ratio(p.Confirmations, p.RemindedAppointments),
		Cancellation:      ratio(p.CancelRequests, p.RemindedAppointments),
		Reschedule:        ratio(p.RescheduleRequests, p.RemindedAppointments),
		NoShow:            ratio(p.NoShows, p.Bookings),
		NoShowConfirmed:   ratio(p.NoShowsConfirmed, p.Confirmations),
		NoShowUnconfirmed: ratio(p.NoShowsUnconfirmed, p.Bookings-p.Confirmations),
		Fill:              ratio(p.SlotsFilled, p.SlotsFreed),
	}
	return p
}

// handOffMedian finds the bucket holding the lower median of the summed histogram.
func handOffMedian(c map[string]int64) HandOffAnswer {
	var h HandOffAnswer
	counts := make([]int64, len(HandOffBounds)+1)
	for i := range counts {
		counts[i] = c[handOffCounter(i)]
		h.Count += counts[i]
	}
	if h.Count == 0 {
		return h
	}
	want, seen := (h.Count+1)/2, int64(0)
	for i, n := range counts {
		seen += n
		if seen < want {
			continue
		}
		over := int64(0)
		if i > 0 {
			over = int64(HandOffBounds[i-1].Seconds())
		}
		h.MedianOverSeconds = &over
		if i < len(HandOffBounds) {
			most := int64(HandOffBounds[i].Seconds())
			h.MedianAtMostSeconds = &most
		}
		break
	}
	return h
}

func ratio(n, d int64) *float64 {
	if d <= 0 {
		return nil
	}
	v := round(float64(n)/float64(d), 4)
	return &v
}

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}
