package inbox

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/metrics"
	"github.com/frontdesk-health/frontdesk/shared/notice"
)

// askFeedback stores a sent feedback question about the patient's appointment.
func (w *world) askFeedback(p testPatient) notice.Notice {
	w.t.Helper()
	n := notice.Notice{ClinicID: clinicID, ID: notice.FeedbackID(clinicID, p.appt), PatientID: p.id, Kind: notice.KindFeedback,
		AppointmentID: p.appt, Source: notice.SourceFeedback, State: notice.StateSent, CreatedAt: w.clock.Now(), UpdatedAt: w.clock.Now()}
	if _, _, err := w.store.CreateNotice(context.Background(), n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

// TestFeedbackAnswers: a bare digit answers the patient's pending question and a
// list choice answers the question it names; the clinic gets feedback.received
// once, a low score also reaches staff, the score is counted once in the metrics,
// and a redelivery changes nothing. Without a pending question a digit is text.
func TestFeedbackAnswers(t *testing.T) {
	cases := []struct {
		name      string
		fixture   string
		patient   testPatient
		ask       bool
		score     int
		wantTypes []string
	}{
		{"digit answers the pending question, low score reaches staff", "feedback_digit_en", patients[0], true, 2,
			[]string{clinic.EventFeedbackReceived, clinic.EventConversationEscalated}},
		{"list choice answers its question", "feedback_list_pt", patients[2], true, 5, []string{clinic.EventFeedbackReceived}},
		{"digit without a question is text for staff", "feedback_digit_en", patients[0], false, 0, []string{clinic.EventConversationEscalated}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.svc.Feedback = w.store
			w.svc.Metrics = &metrics.Recorder{Store: w.store}
			var q notice.Notice
			if tc.ask {
				q = w.askFeedback(tc.patient)
			}
			body := fixture(t, tc.fixture)
			if n := w.deliver(body); n != 0 {
				t.Fatalf("%d failed records", n)
			}
			evs := w.events.Events()
			var types []string
			for _, e := range evs {
				types = append(types, e.Type)
			}
			if len(types) != len(tc.wantTypes) {
				t.Fatalf("events %v, want %v", types, tc.wantTypes)
			}
			for i := range types {
				if types[i] != tc.wantTypes[i] {
					t.Fatalf("events %v, want %v", types, tc.wantTypes)
				}
			}
			if !tc.ask {
				return
			}
			fb := evs[0]
			want := clinic.FeedbackReceived{NoticeID: q.ID, PatientID: tc.patient.id, AppointmentID: tc.patient.appt,
				Score: tc.score, Low: notice.Low(tc.score)}
			if fb.Data != clinic.Data(want) {
				t.Fatalf("feedback.received data: %v", fb.Data)
			}
			got, err := w.store.GetNotice(context.Background(), clinicID, tc.patient.id, q.ID)
			if err != nil || got.State != notice.StateAnswered || got.Score != tc.score {
				t.Fatalf("question: %+v %v", got, err)
			}
			day := msgTime.In(mustZone(t)).Format(time.DateOnly)
			days, err := w.store.MetricDays(context.Background(), clinicID, day, day)
			if err != nil || len(days) != 1 || days[0].Counts[metrics.FeedbackSum] != int64(tc.score) || days[0].Counts[metrics.FeedbackCount] != 1 {
				t.Fatalf("metrics: %+v %v", days, err)
			}
			// Redelivered: nothing more is published or counted.
			w.events.Reset()
			if n := w.deliver(body); n != 0 || len(w.events.Events()) != 0 {
				t.Fatalf("redelivery: %d failed, events %v", n, w.events.Events())
			}
			days, _ = w.store.MetricDays(context.Background(), clinicID, day, day)
			if days[0].Counts[metrics.FeedbackCount] != 1 {
				t.Fatalf("counted twice: %+v", days)
			}
		})
	}
}

func mustZone(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestListTapThenDigitScoresOnce: a patient taps a score in the feedback list and
// then also types a digit. The question takes the tapped score once (one
// feedback.received, counted once); the digit, with no question pending any more,
// is text for staff, not a second score.
func TestListTapThenDigitScoresOnce(t *testing.T) {
	w := newWorld(t)
	w.svc.Feedback = w.store
	w.svc.Metrics = &metrics.Recorder{Store: w.store}
	p := patients[2]
	q := w.askFeedback(p)
	digit := bytes.ReplaceAll(fixture(t, "feedback_digit_en"), []byte("15550100101"), []byte(strings.TrimPrefix(p.phone, "+")))
	digit = bytes.ReplaceAll(digit, []byte("FEEDBACK2"), []byte("FEEDBACK2AFTERLIST"))
	for _, body := range [][]byte{fixture(t, "feedback_list_pt"), digit} {
		if n := w.deliver(body); n != 0 {
			t.Fatalf("%d failed records", n)
		}
	}
	var types []string
	for _, e := range w.events.Events() {
		types = append(types, e.Type)
		if e.Type == clinic.EventFeedbackReceived && e.Field("score") != float64(5) {
			t.Errorf("feedback.received: %v", e.Data)
		}
	}
	if len(types) != 2 || types[0] != clinic.EventFeedbackReceived || types[1] != clinic.EventConversationEscalated {
		t.Fatalf("events %v, want one feedback.received, then the digit handed to staff", types)
	}
	got, err := w.store.GetNotice(context.Background(), clinicID, p.id, q.ID)
	if err != nil || got.State != notice.StateAnswered || got.Score != 5 {
		t.Fatalf("question: %+v %v", got, err)
	}
	day := msgTime.In(mustZone(t)).Format(time.DateOnly)
	days, err := w.store.MetricDays(context.Background(), clinicID, day, day)
	if err != nil || len(days) != 1 || days[0].Counts[metrics.FeedbackCount] != 1 || days[0].Counts[metrics.FeedbackSum] != 5 {
		t.Fatalf("metrics: %+v %v", days, err)
	}
}
