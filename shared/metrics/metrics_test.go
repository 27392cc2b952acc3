package metrics_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/metrics"
)

const zone = "America/New_York"

func TestLocalDayFollowsTheClinicsCalendar(t *testing.T) {
	cases := []struct {
		name string
		at   string
		want string
	}{
		{"evening in New York is the next day in UTC", "2026-11-02T03:30:00Z", "2026-11-01"},
		{"first minute of the 25-hour day (EDT)", "2026-11-01T04:00:00Z", "2026-11-01"},
		{"last minute of the 25-hour day (EST)", "2026-11-02T04:59:00Z", "2026-11-01"},
		{"first minute after it", "2026-11-02T05:00:00Z", "2026-11-02"},
		{"spring: the 23-hour day ends at 04:00Z", "2026-03-09T03:59:00Z", "2026-03-08"},
		{"spring: the next day", "2026-03-09T04:00:00Z", "2026-03-09"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			at, _ := time.Parse(time.RFC3339, tc.at)
			if got := metrics.LocalDay(zone, at); got != tc.want {
				t.Errorf("LocalDay(%s) = %s, want %s", tc.at, got, tc.want)
			}
		})
	}
}

func TestParseQueryRefusesBadRanges(t *testing.T) {
	cases := []struct {
		from, to, interval string
		wantErr            string
	}{
		{"2026-11-01", "2026-11-14", "week", ""},
		{"2026-11-01", "2026-11-01", "", ""},
		{"2025-11-01", "2026-11-01", "day", ""}, // 366 days
		{"2025-10-31", "2026-11-01", "day", "at most 366 days"},
		{"2026-11-14", "2026-11-01", "day", "from must not be after to"},
		{"2026-11-01", "2026-11-14", "month", "interval must be day or week"},
		{"2026-13-01", "2026-11-14", "day", "from must be a calendar date"},
		{"2026-11-01T00:00:00Z", "2026-11-14", "day", "from must be a calendar date"},
		{"", "2026-11-14", "day", "from is required"},
		{"2026-11-01", "2026-02-30", "day", "to must be a calendar date"},
		{"0001-01-01", "0001-01-02", "day", "between the years"},
	}
	for _, tc := range cases {
		t.Run(tc.from+".."+tc.to+"/"+tc.interval, func(t *testing.T) {
			_, err := metrics.ParseQuery(tc.from, tc.to, tc.interval)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestReminderStatusCountsTheStepsSinceTheLastStatus(t *testing.T) {
	at := time.Date(2026, 11, 3, 15, 0, 0, 0, time.UTC)
	counters := func(facts []metrics.Fact) string {
		var out []string
		for _, f := range facts {
			out = append(out, f.Counters()...)
		}
		return strings.Join(out, ",")
	}
	cases := []struct {
		name, before, status, want string
	}{
		{"first status sent", "accepted", "sent", "remindedAppointments,remindersSent"},
		{"delivered after sent", "sent", "delivered", "remindersDelivered"},
		{"read after delivered", "delivered", "read", "remindersRead"},
		{"read with delivered skipped", "sent", "read", "remindersDelivered,remindersRead"},
		{"read as the first status", "accepted", "read", "remindedAppointments,remindersSent,remindersDelivered,remindersRead"},
		{"read redelivered", "read", "read", "remindersRead"},
		{"delivered late, after read", "read", "delivered", "remindersDelivered"},
		{"sent redelivered", "sent", "sent", "remindedAppointments,remindersSent"},
		{"failed counts nothing", "sent", "failed", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := counters(metrics.ReminderStatus("c1", zone, "wamid.A", "appt-1", tc.before, tc.status, at)); got != tc.want {
				t.Errorf("%s -> %s counts %q, want %q", tc.before, tc.status, got, tc.want)
			}
		})
	}
	// A step of a message has one key whichever status counts it.
	viaRead := metrics.ReminderStatus("c1", zone, "wamid.A", "appt-1", "sent", "read", at)
	viaDelivered := metrics.ReminderStatus("c1", zone, "wamid.A", "appt-1", "sent", "delivered", at)
	if viaRead[0].Key != viaDelivered[0].Key {
		t.Error("delivered counted by a read status has another key than by the delivered status")
	}
	first := metrics.ReminderStatus("c1", zone, "wamid.A", "appt-1", "", "sent", at)
	second := metrics.ReminderStatus("c1", zone, "wamid.B", "appt-1", "", "sent", at)
	if first[0].Key != second[0].Key || first[1].Key == second[1].Key {
		t.Error("a second reminder of one appointment must count the appointment once and the message again")
	}
	if strings.Contains(first[1].Key, "wamid") {
		t.Error("keys must not carry the wamid")
	}
}

func TestFromAppointmentCountsStatesOncePerAppointment(t *testing.T) {
	at := time.Date(2026, 11, 3, 15, 0, 0, 0, time.UTC)
	a := appointment.Appointment{ClinicID: "c1", ID: "appt-1", UpdatedAt: at}
	cases := []struct {
		status   appointment.Status
		response appointment.Response
		want     map[string]int64
	}{
		{appointment.StatusBooked, "", map[string]int64{metrics.Bookings: 1}},
		{appointment.StatusPending, "", map[string]int64{}},
		{appointment.StatusCancelled, "", map[string]int64{metrics.CancellationsByEHR: 1}},
		{appointment.StatusNoShow, appointment.ResponseConfirmed, map[string]int64{metrics.Bookings: 1, metrics.NoShows: 1, metrics.NoShowsConfirmed: 1}},
		{appointment.StatusNoShow, appointment.ResponseNone, map[string]int64{metrics.Bookings: 1, metrics.NoShows: 1}},
	}
	for _, tc := range cases {
		t.Run(string(tc.status)+"/"+string(tc.response), func(t *testing.T) {
			a.Status, a.Response = tc.status, tc.response
			got := map[string]int64{}
			for _, f := range metrics.FromAppointment(zone, a) {
				for k, v := range f.Add {
					got[k] += v
				}
				if f.Day != "2026-11-03" {
					t.Errorf("day %s", f.Day)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %d, want %d", k, got[k], v)
				}
			}
		})
	}
}

func TestSummariseGroupsISOWeeksAndComputesRates(t *testing.T) {
	q, err := metrics.ParseQuery("2026-10-29", "2026-11-09", "week") // Thursday .. Monday
	if err != nil {
		t.Fatal(err)
	}
	days := []metrics.DayCounts{
		{Day: "2026-10-29", Counts: map[string]int64{metrics.Bookings: 4, metrics.RemindedAppointments: 3, metrics.Confirmations: 2}},
		{Day: "2026-11-01", Counts: map[string]int64{metrics.NoShows: 1, metrics.NoShowsConfirmed: 1, "messages_utility": 3, "billable_utility": 2}},
		{Day: "2026-11-05", Counts: map[string]int64{metrics.Bookings: 2, metrics.RemindedAppointments: 1, metrics.CancelRequests: 1}},
		{Day: "2026-11-09", Counts: map[string]int64{metrics.NoShows: 1, metrics.FeedbackSum: 9, metrics.FeedbackCount: 2}},
		{Day: "2026-11-20", Counts: map[string]int64{metrics.Bookings: 100}}, // outside the range
	}
	r := metrics.Summarise(q, days, metrics.DefaultRateCard())
	want := []struct{ start, end, week string }{
		{"2026-10-29", "2026-11-01", "2026-W44"}, {"2026-11-02", "2026-11-08", "2026-W45"}, {"2026-11-09", "2026-11-09", "2026-W46"},
	}
	if len(r.Periods) != len(want) {
		t.Fatalf("%d periods, want %d", len(r.Periods), len(want))
	}
	for i, w := range want {
		if p := r.Periods[i]; p.Start != w.start || p.End != w.end || p.Week != w.week {
			t.Errorf("period %d = %s..%s %s, want %s..%s %s", i, p.Start, p.End, p.Week, w.start, w.end, w.week)
		}
	}
	tot := r.Total
	check := func(name string, got *float64, want float64) {
		t.Helper()
		if got == nil || *got != want {
			t.Errorf("%s = %v, want %v", name, deref(got), want)
		}
	}
	if tot.Bookings != 6 || tot.NoShows != 2 || tot.NoShowsUnconfirmed != 1 {
		t.Errorf("totals %+v", tot)
	}
	check("confirmation", tot.Rates.Confirmation, 0.5)  // 2 / 4 reminded
	check("cancellation", tot.Rates.Cancellation, 0.25) // 1 / 4
	check("noShow", tot.Rates.NoShow, 0.3333)           // 2 / 6 booked
	check("noShowConfirmed", tot.Rates.NoShowConfirmed, 0.5)
	check("noShowUnconfirmed", tot.Rates.NoShowUnconfirmed, 0.25) // 1 / (6 - 2)
	check("feedback", tot.Feedback.Average, 4.5)
	if tot.Rates.Reschedule == nil || *tot.Rates.Reschedule != 0 {
		t.Errorf("reschedule %v, want 0", deref(tot.Rates.Reschedule))
	}
	if u := tot.Messages["utility"]; u.Messages != 3 || u.Billable != 2 || u.EstimatedCost != 0.008 || tot.EstimatedCost != 0.008 {
		t.Errorf("utility %+v, cost %v", u, tot.EstimatedCost)
	}
	if p := r.Periods[2]; p.Rates.Confirmation != nil {
		t.Errorf("a period with nothing reminded has confirmation rate %v, want null", *p.Rates.Confirmation)
	}
	if _, err := json.Marshal(r); err != nil {
		t.Fatal(err)
	}
}

func TestHandOffMedianFromBuckets(t *testing.T) {
	q, _ := metrics.ParseQuery("2026-11-02", "2026-11-03", "day")
	t0 := time.Date(2026, 11, 2, 14, 0, 0, 0, time.UTC)
	var days []metrics.DayCounts
	add := func(id string, wait time.Duration, dayOffset int) {
		at := t0.AddDate(0, 0, dayOffset)
		for _, f := range metrics.HandOffAnswered("c1", zone, id, at, at.Add(wait)) {
			days = append(days, metrics.DayCounts{Day: f.Day, Counts: f.Add})
		}
	}
	add("h1", 30*time.Second, 0) // <= 1 min
	add("h2", 4*time.Minute, 0)  // (2, 5] min
	add("h3", 7*time.Minute, 1)  // (5, 10] min
	add("h4", 20*time.Minute, 1) // (15, 30] min
	add("h5", 100*time.Hour, 1)  // over 72 h
	r := metrics.Summarise(q, days, metrics.DefaultRateCard())
	h := r.Total.HandOffAnswer
	// Sorted: 30 s, 4 min, 7 min, 20 min, 100 h: the median is 7 min, in (5, 10] min.
	if h.Count != 5 || deref64(h.MedianOverSeconds) != 300 || deref64(h.MedianAtMostSeconds) != 600 {
		t.Errorf("total %+v (over %d, at most %d), want 5 in (300, 600]", h, deref64(h.MedianOverSeconds), deref64(h.MedianAtMostSeconds))
	}
	// First day alone: 30 s and 4 min; the lower median is 30 s, in (0, 60].
	if h := r.Periods[0].HandOffAnswer; h.Count != 2 || deref64(h.MedianAtMostSeconds) != 60 {
		t.Errorf("day 1 %+v", h)
	}
}

func TestFeedbackScoreBounds(t *testing.T) {
	at := time.Date(2026, 11, 3, 15, 0, 0, 0, time.UTC)
	for _, score := range []int{0, 6, -1} {
		if _, err := metrics.Feedback("c1", zone, "fb-1", score, at); err == nil {
			t.Errorf("score %d accepted", score)
		}
	}
	f, err := metrics.Feedback("c1", zone, "fb-1", 4, at)
	if err != nil || f[0].Add[metrics.FeedbackSum] != 4 || f[0].Add[metrics.FeedbackCount] != 1 {
		t.Errorf("score 4: %v %v", f, err)
	}
}

func TestRateCardValidate(t *testing.T) {
	if err := metrics.DefaultRateCard().Validate(); err != nil {
		t.Errorf("default: %v", err)
	}
	bad := metrics.RateCard{Currency: "usd", AsOf: "July", Rates: map[string]float64{"Marketing": -1}}
	err := bad.Validate()
	for _, want := range []string{"currency", "asOf", "Marketing"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

type fakeStore struct{ seen map[string]bool }

func (s *fakeStore) CountFact(_ context.Context, f metrics.Fact) (bool, error) {
	if f.ClinicID == "broken" {
		return false, errors.New("boom")
	}
	if s.seen[f.Key] {
		return false, nil
	}
	s.seen[f.Key] = true
	return true, nil
}

func TestRecorderEmitsFirstCountsOnly(t *testing.T) {
	at := time.Date(2026, 11, 3, 15, 0, 0, 0, time.UTC)
	emitted := map[string]int64{}
	r := &metrics.Recorder{Store: &fakeStore{seen: map[string]bool{}}, Emit: func(_ context.Context, c string, n int64) { emitted[c] += n }}
	for i := 0; i < 3; i++ { // redelivered
		if err := r.Record(context.Background(), metrics.ReminderStatus("c1", zone, "wamid.A", "appt-1", "", "delivered", at)...); err != nil {
			t.Fatal(err)
		}
	}
	if emitted[metrics.RemindersSent] != 1 || emitted[metrics.RemindersDelivered] != 1 || emitted[metrics.RemindedAppointments] != 1 {
		t.Errorf("emitted %v", emitted)
	}
	if err := r.Record(context.Background(), metrics.OptOut("broken", zone, "w", at)...); err == nil {
		t.Error("a store failure must reach the caller, which retries")
	}
	var none *metrics.Recorder
	if err := none.Record(context.Background(), metrics.OptOut("c1", zone, "w", at)...); err != nil {
		t.Errorf("nil recorder: %v", err)
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func deref64(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}

func TestFreedSlotsCountOncePerReleaseAndFillRate(t *testing.T) {
	released := time.Date(2026, 11, 3, 3, 30, 0, 0, time.UTC) // 22:30 on Nov 2 in New York
	again := released.Add(48 * time.Hour)
	counted := map[string]bool{}
	sum := map[string]int64{}
	days := map[string]bool{}
	count := func(fs []metrics.Fact) {
		for _, f := range fs {
			days[f.Day] = true
			if counted[f.Key] {
				continue
			}
			counted[f.Key] = true
			for k, v := range f.Add {
				sum[k] += v
			}
		}
	}
	steps := [][]metrics.Fact{
		metrics.SlotFreed("clinic-a", zone, "slot-1", released),
		metrics.SlotFreed("clinic-a", zone, "slot-1", released), // the same release redelivered
		metrics.SlotOffered("clinic-a", zone, "slot-1", released),
		metrics.SlotOffered("clinic-a", zone, "slot-1", released), // a second wave
		metrics.SlotFilled("clinic-a", zone, "slot-1", released, released.Add(12*time.Minute+40*time.Second)),
		metrics.SlotFilled("clinic-a", zone, "slot-1", released, released.Add(time.Hour)), // a retry: counted before
		metrics.SlotFreed("clinic-a", zone, "slot-1", again),                              // freed again later: a new release
		metrics.SlotOffered("clinic-a", zone, "slot-1", again),
		metrics.SlotFreed("clinic-a", zone, "slot-2", released),
	}
	for _, fs := range steps {
		count(fs)
	}
	want := map[string]int64{metrics.SlotsFreed: 3, metrics.SlotsOffered: 2, metrics.SlotsFilled: 1, metrics.ReleaseToFillMinutes: 13}
	for k, v := range want {
		if sum[k] != v {
			t.Errorf("%s = %d, want %d", k, sum[k], v)
		}
	}
	if !days["2026-11-02"] || days["2026-11-03"] {
		t.Errorf("days %v: a release is counted on the clinic's local day", days)
	}
	for _, c := range []string{metrics.SlotsFreed, metrics.SlotsOffered, metrics.SlotsFilled, metrics.ReleaseToFillMinutes} {
		if !metrics.OnDashboard(c) {
			t.Errorf("%s is not on the dashboard", c)
		}
	}

	q, err := metrics.ParseQuery("2026-11-02", "2026-11-03", "day")
	if err != nil {
		t.Fatal(err)
	}
	r := metrics.Summarise(q, []metrics.DayCounts{
		{Day: "2026-11-02", Counts: map[string]int64{metrics.SlotsFreed: 4, metrics.SlotsOffered: 3, metrics.SlotsFilled: 2, metrics.ReleaseToFillMinutes: 25}},
	}, metrics.DefaultRateCard())
	tot := r.Total
	if tot.SlotsFreed != 4 || tot.SlotsOffered != 3 || tot.SlotsFilled != 2 {
		t.Errorf("totals %+v", tot)
	}
	if tot.Rates.Fill == nil || *tot.Rates.Fill != 0.5 || tot.ReleaseToFillMinutes == nil || *tot.ReleaseToFillMinutes != 12.5 {
		t.Errorf("fill rate %v, release to fill %v; want 0.5 and 12.5", deref(tot.Rates.Fill), deref(tot.ReleaseToFillMinutes))
	}
	if p := r.Periods[1]; p.Rates.Fill != nil || p.ReleaseToFillMinutes != nil {
		t.Errorf("a day with nothing freed: fill %v, minutes %v; want null", deref(p.Rates.Fill), deref(p.ReleaseToFillMinutes))
	}
}
