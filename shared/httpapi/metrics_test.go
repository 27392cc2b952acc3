package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/clinic/clinictest"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/httpapi"
	"github.com/frontdesk-health/frontdesk/shared/inbox"
	"github.com/frontdesk-health/frontdesk/shared/intake"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/messagelog"
	"github.com/frontdesk-health/frontdesk/shared/metrics"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

const (
	fortnightClinic  = "fortnight-clinic"
	fortnightPhoneID = "106555010077"
	fortnightToken   = "fortnight-read-token"
)

// fortnight drives the EHR API (intake) and the inbound handler (patient taps,
// STOP, status webhooks) over DynamoDB Local on a fake clock, as production wires
// them. The one stand-in is the sender's record of each reminder it sent (a
// message log entry), which the status webhooks then refer to.
type fortnight struct {
	*harness
	inbound *inbox.Service
	ny      *time.Location
	version map[string]int
	patient map[string]int
	start   map[string]time.Time
	webhook int
}

func newFortnight(t *testing.T) *fortnight {
	t.Helper()
	client, names := localtest.Dynamo(t)
	clock := platform.NewFakeClock(time.Date(2026, 10, 26, 12, 0, 0, 0, time.UTC))
	store := dynamo.NewStore(client, names, clock, 4)
	c := clinic.Clinic{
		ID: fortnightClinic, Name: "Fortnight Clinic", TimeZone: "America/New_York", Country: "US",
		PhoneNumberID: fortnightPhoneID, WABAID: "206555010077", DefaultLanguage: "en-US",
		ReminderPolicy: reminder.DefaultPolicy(), EmergencyNumber: "911",
		WebhookSecretRef: "env:TEST_EHR_SECRET", APITokenHash: ehr.HashToken(fortnightToken),
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := store.PutClinic(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	log := platform.NewLogger(io.Discard, nil)
	recorder := &metrics.Recorder{Store: store}
	api := &httpapi.EHRAPI{
		Intake: &intake.Service{Store: store, Clock: clock, Log: log, Metrics: recorder}, Clinics: store, Idempotency: store,
		Secrets:  &platform.Secrets{Lookup: func(k string) (string, bool) { return testSecret, k == "TEST_EHR_SECRET" }},
		Verifier: &ehr.Verifier{Clock: clock, Tolerance: 5 * time.Minute}, Clock: clock, Log: log, Metrics: store,
	}
	srv := httptest.NewServer(httpapi.NewRouter(api, nil, log, clock, ""))
	t.Cleanup(srv.Close)
	graph := whatsapptest.NewServer(t, whatsapptest.Config{AccessToken: "graph-token", AppSecret: "app-secret", Clock: clock})
	in := &inbox.Service{
		Store: store, Events: &clinictest.Recorder{}, Clock: clock, Log: log, Metrics: recorder,
		Replies: outreach.NewSender(&outreach.Sender{Store: store, Claims: store, Clock: clock, Logger: log,
			Messenger: &whatsapp.Client{BaseURL: graph.URL, Version: "v23.0", HTTP: graph.Client(),
				Token: func(context.Context) (string, error) { return "graph-token", nil }}}),
	}
	ny, _ := time.LoadLocation("America/New_York")
	return &fortnight{
		harness: &harness{t: t, client: client, names: names, store: store, clock: clock, srv: srv},
		inbound: in, ny: ny, version: map[string]int{}, patient: map[string]int{}, start: map[string]time.Time{},
	}
}

// at moves the clock to a New York wall time (none of the script's times is the
// ambiguous hour of the night the clocks go back).
func (f *fortnight) at(date string, hhmm string) time.Time {
	f.t.Helper()
	t, err := time.ParseInLocation("2006-01-02 15:04", date+" "+hhmm, f.ny)
	if err != nil {
		f.t.Fatal(err)
	}
	f.clock.Set(t)
	return t
}

// ehr sends the appointment's next version with status; msgID "" is a fresh
// webhook-id, a repeated one is the EHR retrying a delivery.
func (f *fortnight) ehr(appt, status, msgID string, wantStatus int) {
	f.t.Helper()
	if _, ok := f.patient[appt]; !ok {
		f.patient[appt] = len(f.patient) + 1
	}
	if msgID == "" {
		f.version[appt]++
	}
	n := f.patient[appt]
	body, _ := json.Marshal(map[string]any{
		"status": status, "start": f.start[appt].Format(time.RFC3339), "durationMinutes": 30,
		"location": map[string]any{"name": "Fortnight Clinic", "address": "1 Example Way"},
		"patient":  map[string]any{"id": fmt.Sprintf("pat-%d", n), "phone": fmt.Sprintf("+1555010014%d", n), "givenName": "Alex", "language": "en-US"},
		"consent":  map[string]any{"whatsapp": "opted_in", "at": "2026-10-01T10:00:00Z", "source": "intake-form"},
		"version":  f.version[appt],
	})
	resp := f.signed("PUT", "/v1/clinics/"+fortnightClinic+"/appointments/"+appt, "application/json", msgID, body)
	if resp.StatusCode != wantStatus {
		f.t.Fatalf("%s %s: %d %s", appt, status, resp.StatusCode, readAll(resp))
	}
}

// book creates an appointment starting at start (New York wall time).
func (f *fortnight) book(appt, start string) {
	f.t.Helper()
	s, err := time.ParseInLocation("2006-01-02 15:04", start, f.ny)
	if err != nil {
		f.t.Fatal(err)
	}
	f.start[appt] = s
	f.ehr(appt, "booked", "", http.StatusCreated)
}

func wamidOf(appt string) string { return "wamid.FORTNIGHT" + appt }

// sent is the sender's record of the 48 h reminder it sent for appt.
func (f *fortnight) sent(appt string) {
	f.t.Helper()
	_, err := f.store.PutMessage(context.Background(), messagelog.Record{
		WAMID: wamidOf(appt), Direction: messagelog.Outbound, ClinicID: fortnightClinic,
		PatientID: fmt.Sprintf("pat-%d", f.patient[appt]), AppointmentID: appt, ReminderKind: string(reminder.KindDayBefore),
		Generation: reminder.Generation(f.start[appt]), Type: "template", Status: messagelog.StatusAccepted,
		CreatedAt: f.clock.Now(), UpdatedAt: f.clock.Now(),
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fortnight) deliver(value map[string]any) {
	f.t.Helper()
	body, _ := json.Marshal(map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{
		"id": "206555010077", "changes": []any{map[string]any{"field": "messages", "value": mergeValue(value)}},
	}}})
	f.webhook++
	resp, err := f.inbound.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{
		MessageId: "sqs-" + strconv.Itoa(f.webhook), Body: string(body), EventSource: "aws:sqs",
	}}})
	if err != nil || len(resp.BatchItemFailures) > 0 {
		f.t.Fatalf("inbound: %v, %d failures", err, len(resp.BatchItemFailures))
	}
}

func mergeValue(v map[string]any) map[string]any {
	v["messaging_product"] = "whatsapp"
	v["metadata"] = map[string]any{"display_phone_number": "15550100077", "phone_number_id": fortnightPhoneID}
	return v
}

// status is Meta's status webhook for appt's reminder, priced as utility.
func (f *fortnight) status(appt, status string, billable bool) {
	f.t.Helper()
	pricingType := "regular"
	if !billable {
		pricingType = "free_customer_service"
	}
	f.deliver(map[string]any{"statuses": []any{map[string]any{
		"id": wamidOf(appt), "status": status, "timestamp": strconv.FormatInt(f.clock.Now().Unix(), 10),
		"recipient_id": fmt.Sprintf("1555010014%d", f.patient[appt]),
		"pricing":      map[string]any{"billable": billable, "pricing_model": "PMP", "category": "utility", "type": pricingType},
	}}})
}

// tap is the patient's tap on a reminder button; id names the inbound message,
// so delivering the same id again is Meta (or SQS) delivering it again.
func (f *fortnight) tap(appt string, action reminder.Action, id string) {
	f.t.Helper()
	from := fmt.Sprintf("1555010014%d", f.patient[appt])
	payload := reminder.ButtonPayload{Action: action, ClinicID: fortnightClinic, AppointmentID: appt, Generation: reminder.Generation(f.start[appt])}
	f.deliver(map[string]any{
		"contacts": []any{map[string]any{"profile": map[string]any{"name": "Alex"}, "wa_id": from}},
		"messages": []any{map[string]any{
			"from": from, "id": "wamid.TAP" + id, "timestamp": strconv.FormatInt(f.clock.Now().Unix(), 10), "type": "button",
			"button": map[string]any{"payload": payload.Encode(), "text": string(action)},
		}},
	})
}

func (f *fortnight) stop(from, id string) {
	f.t.Helper()
	f.deliver(map[string]any{
		"contacts": []any{map[string]any{"profile": map[string]any{"name": "Sam"}, "wa_id": from}},
		"messages": []any{map[string]any{
			"from": from, "id": "wamid.STOP" + id, "timestamp": strconv.FormatInt(f.clock.Now().Unix(), 10), "type": "text",
			"text": map[string]any{"body": "STOP"},
		}},
	})
}

func (f *fortnight) report(query string) map[string]any {
	f.t.Helper()
	resp := f.get("/v1/clinics/"+fortnightClinic+"/metrics?"+query, fortnightToken)
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("GET metrics?%s: %d %s", query, resp.StatusCode, readAll(resp))
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(readAll(resp)), &out); err != nil {
		f.t.Fatal(err)
	}
	return out
}

// TestScriptedFortnightGivesTheRatesComputedByHand runs two ISO weeks of one
// clinic in New York, Monday 2026-10-26 to Sunday 2026-11-08, across the night
// the clocks go back (Sunday 2026-11-01, a 25-hour day), through the real EHR API
// and inbound handler, with redeliveries and retries on the way. The expected
// numbers are counted by hand from the script below, not by the code under test.
func TestScriptedFortnightGivesTheRatesComputedByHand(t *testing.T) {
	f := newFortnight(t)

	// Week 44.
	f.at("2026-10-26", "10:00") // Monday: six bookings
	f.book("A1", "2026-10-29 10:00")
	f.book("A2", "2026-11-04 09:00")
	f.book("A3", "2026-11-05 11:00")
	f.book("A4", "2026-11-05 15:00")
	f.book("A5", "2026-11-06 10:00")
	f.book("A6", "2026-11-06 14:00")

	f.at("2026-10-27", "10:00") // Tuesday: four reminders go out
	for _, a := range []string{"A1", "A2", "A3", "A4"} {
		f.sent(a)
		f.status(a, "sent", true)
	}
	f.status("A1", "sent", true) // Meta posts the same status again
	f.at("2026-10-27", "10:05")
	f.status("A1", "delivered", true)
	f.status("A2", "read", true) // read with no delivered status before it
	f.status("A2", "delivered", true)

	f.at("2026-10-28", "18:00") // Wednesday: answers
	f.tap("A1", reminder.ActionConfirm, "1")
	f.tap("A1", reminder.ActionConfirm, "1") // SQS redelivers the same tap
	f.tap("A2", reminder.ActionConfirm, "2")
	f.tap("A3", reminder.ActionReschedule, "3")
	f.tap("A4", reminder.ActionCancel, "4")

	// Sunday 2026-11-01, the 25-hour day. 00:30 EDT is 04:30Z: a clinic-day at a
	// fixed -05:00 would put it on Saturday. 23:30 EST is 04:30Z on Monday: UTC or
	// a fixed -04:00 would put it on Monday.
	f.at("2026-11-01", "00:30")
	f.ehr("A5", "cancelled", "", http.StatusOK)
	f.at("2026-11-01", "23:30")
	f.ehr("A1", "noshow", "", http.StatusOK) // A1 was confirmed

	// Week 45.
	f.at("2026-11-02", "09:00") // Monday: two bookings
	f.book("A7", "2026-11-05 09:30")
	f.book("A8", "2026-11-05 10:30")

	f.at("2026-11-03", "09:00") // Tuesday: three reminders
	for _, a := range []string{"A6", "A7", "A8"} {
		f.sent(a)
	}
	f.status("A6", "sent", true)
	f.status("A7", "sent", true)
	f.status("A8", "sent", false) // not billable
	f.at("2026-11-03", "09:10")
	f.status("A7", "read", true)

	f.at("2026-11-04", "08:00") // Wednesday: A6 and A7 confirm, A8 says nothing
	f.tap("A6", reminder.ActionConfirm, "6")
	f.tap("A7", reminder.ActionConfirm, "7")

	f.at("2026-11-05", "18:00")              // Thursday: the EHR reports no-shows
	f.ehr("A2", "noshow", "", http.StatusOK) // confirmed
	f.ehr("A8", "noshow", "", http.StatusOK) // not confirmed
	f.ehr("A8", "noshow", "msg_"+strconv.Itoa(f.seq), http.StatusOK)
	f.version["A8"]-- // the EHR sends the same version again under a new webhook-id
	f.ehr("A8", "noshow", "", http.StatusOK)
	f.ehr("A6", "fulfilled", "", http.StatusOK)

	f.at("2026-11-06", "12:00") // Friday: the EHR cancels A3; a number opts out
	f.ehr("A3", "cancelled", "", http.StatusOK)
	f.stop("15550100159", "1")
	f.stop("15550100159", "1") // redelivered

	// By hand, from the script above.
	type want struct {
		sent, delivered, read, reminded, bookings, confirms, cancelReq, reschedReq, ehrCancels, noShows, noShowsConf, noShowsUnconf, optOuts float64
		billable                                                                                                                             float64
		cost                                                                                                                                 float64
		confirmation, cancellation, reschedule, noShow, noShowConf, noShowUnconf                                                             any
	}
	week44 := want{sent: 4, delivered: 2, read: 1, reminded: 4, bookings: 6, confirms: 2, cancelReq: 1, reschedReq: 1, ehrCancels: 1,
		noShows: 1, noShowsConf: 1, noShowsUnconf: 0, optOuts: 0, billable: 4, cost: 0.016,
		confirmation: 0.5, cancellation: 0.25, reschedule: 0.25, noShow: 0.1667, noShowConf: 0.5, noShowUnconf: 0.0}
	week45 := want{sent: 3, delivered: 1, read: 1, reminded: 3, bookings: 2, confirms: 2, cancelReq: 0, reschedReq: 0, ehrCancels: 1,
		noShows: 2, noShowsConf: 1, noShowsUnconf: 1, optOuts: 1, billable: 2, cost: 0.008,
		confirmation: 0.6667, cancellation: 0.0, reschedule: 0.0, noShow: 1.0, noShowConf: 0.5, noShowUnconf: nil}
	total := want{sent: 7, delivered: 3, read: 2, reminded: 7, bookings: 8, confirms: 4, cancelReq: 1, reschedReq: 1, ehrCancels: 2,
		noShows: 3, noShowsConf: 2, noShowsUnconf: 1, optOuts: 1, billable: 6, cost: 0.024,
		confirmation: 0.5714, cancellation: 0.1429, reschedule: 0.1429, noShow: 0.375, noShowConf: 0.5, noShowUnconf: 0.25}
	check := func(name string, p map[string]any, w want) {
		t.Helper()
		got := func(k string) any { return p[k] }
		for k, v := range map[string]float64{
			"remindersSent": w.sent, "remindersDelivered": w.delivered, "remindersRead": w.read, "remindedAppointments": w.reminded,
			"bookings": w.bookings, "confirmations": w.confirms, "cancelRequests": w.cancelReq, "rescheduleRequests": w.reschedReq,
			"cancellationsByEhr": w.ehrCancels, "noShows": w.noShows, "noShowsConfirmed": w.noShowsConf,
			"noShowsUnconfirmed": w.noShowsUnconf, "optOuts": w.optOuts, "estimatedCost": w.cost,
		} {
			if got(k) != v {
				t.Errorf("%s %s = %v, want %v", name, k, got(k), v)
			}
		}
		rates, _ := p["rates"].(map[string]any)
		for k, v := range map[string]any{
			"confirmation": w.confirmation, "cancellation": w.cancellation, "reschedule": w.reschedule,
			"noShow": w.noShow, "noShowConfirmed": w.noShowConf, "noShowUnconfirmed": w.noShowUnconf,
		} {
			if rates[k] != v {
				t.Errorf("%s rates.%s = %v, want %v", name, k, rates[k], v)
			}
		}
		utility, _ := p["messagesByCategory"].(map[string]any)["utility"].(map[string]any)
		if utility["messages"] != w.sent || utility["billable"] != w.billable {
			t.Errorf("%s utility messages %v", name, utility)
		}
	}

	weekly := f.report("from=2026-10-26&to=2026-11-08&interval=week")
	periods, _ := weekly["periods"].([]any)
	if len(periods) != 2 {
		t.Fatalf("%d weekly periods, want 2: %v", len(periods), weekly)
	}
	p44, p45 := periods[0].(map[string]any), periods[1].(map[string]any)
	if p44["isoWeek"] != "2026-W44" || p44["start"] != "2026-10-26" || p44["end"] != "2026-11-01" || p45["isoWeek"] != "2026-W45" {
		t.Errorf("weeks %v..%v %v, %v", p44["start"], p44["end"], p44["isoWeek"], p45["isoWeek"])
	}
	check("week 44", p44, week44)
	check("week 45", p45, week45)
	check("total", weekly["total"].(map[string]any), total)

	// The 25-hour day keeps both of its events, and its neighbours none of them.
	daily := f.report("from=2026-10-31&to=2026-11-02&interval=day")
	days := daily["periods"].([]any)
	for i, w := range []struct {
		day                           string
		noShows, ehrCancels, bookings float64
	}{
		{"2026-10-31", 0, 0, 0}, {"2026-11-01", 1, 1, 0}, {"2026-11-02", 0, 0, 2},
	} {
		d := days[i].(map[string]any)
		if d["start"] != w.day || d["noShows"] != w.noShows || d["cancellationsByEhr"] != w.ehrCancels || d["bookings"] != w.bookings {
			t.Errorf("day %s: noShows %v, cancellationsByEhr %v, bookings %v; want %v, %v, %v",
				d["start"], d["noShows"], d["cancellationsByEhr"], d["bookings"], w.noShows, w.ehrCancels, w.bookings)
		}
	}
	if daily["timeZone"] != "America/New_York" {
		t.Errorf("timeZone %v", daily["timeZone"])
	}
}
