package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/clinic/clinictest"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/httpapi"
	"github.com/frontdesk-health/frontdesk/shared/intake"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/metrics"
	"github.com/frontdesk-health/frontdesk/shared/notices"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/slot"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// The clinics of the security tests. Every value is invented.
const (
	secWriteToken     = "clinic-write-token-1"
	legacyClinicID    = "legacy-clinic" // onboarded before tokens were scoped: a read token only
	legacyReadToken   = "legacy-read-token-1"
	brokenClinicID    = "broken-clinic" // its webhook secret cannot be resolved: every signed write is a 5xx
	brokenSecretARN   = "arn:aws:secretsmanager:us-east-1:000000000000:secret:frontdesk/test/clinic/broken-webhook-AbCdEf"
	metaAppSecret     = "test-meta-app-secret"
	contendedApptID   = "appt-contended" // its appointment write always loses the optimistic lock
	contendedSlotID   = "slot-contended" // likewise for a slot
	secMaxVersion     = "9007199254740991"
	secOverMaxVersion = "9007199254740992"
)

// contendedStore is the real store, except that writes of one appointment always
// lose the optimistic lock, as under a storm of concurrent patient taps.
type contendedStore struct{ *dynamo.Store }

func (s contendedStore) SaveAppointment(ctx context.Context, a appointment.Appointment, rs []reminder.Write) error {
	if a.ID == contendedApptID {
		return &dynamo.ConditionFailedError{Op: "save appointment " + a.ID, Err: fmt.Errorf("revision moved")}
	}
	return s.Store.SaveAppointment(ctx, a, rs)
}

func (s contendedStore) SaveSlot(ctx context.Context, sl slot.Slot) error {
	if sl.ID == contendedSlotID {
		return &dynamo.ConditionFailedError{Op: "save slot " + sl.ID, Err: fmt.Errorf("revision moved")}
	}
	return s.Store.SaveSlot(ctx, sl)
}

// secHarness is both APIs through the production router, over DynamoDB Local and
// moto, with every log line captured.
type secHarness struct {
	*harness
	sqs    *sqs.Client
	queues queue.URLs
	logs   *localtest.LogBuffer
	// outbox and events record what the notice service hands on.
	outbox *recordingOutbox
	events *clinictest.Recorder
}

func newSecHarness(t *testing.T) *secHarness {
	t.Helper()
	client, names := localtest.Dynamo(t)
	sq, urls := localtest.SQS(t)
	clock := platform.NewFakeClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	store := dynamo.NewStore(client, names, clock, 4)
	base := clinic.Clinic{
		Name: "Test Clinic", TimeZone: "America/New_York", Country: "US",
		WABAID: "200000000000009", DefaultLanguage: "en-US",
		QuietHours: reminder.QuietHours{Start: "21:00", End: "08:00"}, ReminderPolicy: reminder.DefaultPolicy(),
		EmergencyNumber: "911", WebhookSecretRef: "env:TEST_EHR_SECRET", PortalURL: "https://portal.example.org",
		FeedbackAfter: "3h",
	}
	base.ReminderPolicy.RecallAfter = reminder.RecallAfter{"diabetes-review": "90d"}
	main, legacy, broken := base, base, base
	main.ID, main.PhoneNumberID = clinicID, "100000000000009"
	main.APITokenHash, main.WriteTokenHash = ehr.HashToken(testToken), ehr.HashToken(secWriteToken)
	legacy.ID, legacy.PhoneNumberID, legacy.APITokenHash = legacyClinicID, "100000000000010", ehr.HashToken(legacyReadToken)
	broken.ID, broken.PhoneNumberID, broken.APITokenHash, broken.WebhookSecretRef = brokenClinicID, "100000000000011", ehr.HashToken("unused"), brokenSecretARN
	for _, c := range []clinic.Clinic{main, legacy, broken} {
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		if err := store.PutClinic(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	logs := &localtest.LogBuffer{}
	log := platform.NewLogger(logs, nil)
	api := &httpapi.EHRAPI{
		Intake:      &intake.Service{Store: contendedStore{store}, Clock: clock, Log: log, Metrics: &metrics.Recorder{Store: store}},
		Clinics:     store,
		Idempotency: store,
		// As in AWS: ARNs go to Secrets Manager; this one has no client, so the
		// broken clinic's secret fails with an error naming the ARN.
		Secrets: &platform.Secrets{Lookup: func(k string) (string, bool) {
			return testSecret, k == "TEST_EHR_SECRET"
		}},
		Verifier: &ehr.Verifier{Clock: clock, Tolerance: 5 * time.Minute},
		Clock:    clock,
		Log:      log,
		Once:     store,
		Metrics:  store,
	}
	outbox, events := &recordingOutbox{}, &clinictest.Recorder{}
	noticeSvc := &notices.Service{Store: store, Outbox: outbox, Events: events, Clock: clock, Log: log}
	api.Notices = noticeSvc
	api.Intake.Visits = noticeSvc
	hook := &httpapi.Webhook{
		AppSecret:   func(context.Context) (string, error) { return metaAppSecret, nil },
		VerifyToken: func(context.Context) (string, error) { return "test-verify-token", nil },
		Queue:       queue.InboundQueue{Publisher: queue.NewPublisher(sq, urls[queue.Inbound])},
		Log:         log,
	}
	srv := httptest.NewServer(httpapi.NewRouter(api, hook, log, clock, ""))
	t.Cleanup(srv.Close)
	h := &harness{t: t, client: client, names: names, store: store, clock: clock, srv: srv}
	return &secHarness{harness: h, sqs: sq, queues: urls, logs: logs, outbox: outbox, events: events}
}

// snapshot is every item of every table and the message count of every queue:
// the ground truth for "nothing was stored or sent".
func (h *secHarness) snapshot() string {
	h.t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, name := range []string{h.names.Appointments, h.names.Patients, h.names.Messages, h.names.Clinics, h.names.Idempotency, h.names.Conversations, h.names.Audit, h.names.Slots, h.names.Metrics} {
		var items []string
		p := dynamodb.NewScanPaginator(h.client, &dynamodb.ScanInput{TableName: aws.String(name), ConsistentRead: aws.Bool(true)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				h.t.Fatal(err)
			}
			for _, it := range page.Items {
				var m map[string]any
				if err := attributevalue.UnmarshalMap(it, &m); err != nil {
					h.t.Fatal(err)
				}
				j, _ := json.Marshal(m) // map keys come out sorted
				items = append(items, string(j))
			}
		}
		sort.Strings(items)
		fmt.Fprintf(&b, "table %s: %d items\n%s\n", name, len(items), strings.Join(items, "\n"))
	}
	var qs []string
	for name := range h.queues {
		qs = append(qs, name)
	}
	sort.Strings(qs)
	for _, name := range qs {
		out, err := h.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(h.queues[name]),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
				sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible, sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed}})
		if err != nil {
			h.t.Fatal(err)
		}
		fmt.Fprintf(&b, "queue %s: %s visible, %s in flight, %s delayed\n", name,
			out.Attributes["ApproximateNumberOfMessages"], out.Attributes["ApproximateNumberOfMessagesNotVisible"],
			out.Attributes["ApproximateNumberOfMessagesDelayed"])
	}
	return b.String()
}

// logLines decodes the JSON log lines written after offset.
func (h *secHarness) logLines(offset int) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(h.logs.Since(offset)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

func (h *secHarness) signedReq(method, path, ct, msgID string, body []byte, at time.Time) *http.Request {
	h.t.Helper()
	if msgID == "" {
		h.seq++
		msgID = "msg_sec_" + strconv.Itoa(h.seq)
	}
	hdr, err := ehr.SignHeaders(testSecret, msgID, at, body)
	if err != nil {
		h.t.Fatal(err)
	}
	req, _ := http.NewRequest(method, h.srv.URL+path, bytes.NewReader(body))
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", ct)
	return req
}

func (h *secHarness) signedNow(method, path, ct, msgID string, body []byte) *http.Request {
	return h.signedReq(method, path, ct, msgID, body, h.clock.Now())
}

func (h *secHarness) bearerReq(method, path, ct, token string, body []byte) *http.Request {
	req, _ := http.NewRequest(method, h.srv.URL+path, bytes.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

func (h *secHarness) metaReq(body []byte, signature string) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/webhooks/whatsapp", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set(whatsapp.SignatureHeader, signature)
	}
	return req
}

// nativeBody is a valid native appointment body with fields replaced or removed (nil).
func nativeBody(t *testing.T, set map[string]any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(fixture(t, "testdata/appointment-booked.json"), &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawNative is nativeBody with a literal JSON number for version (json.Marshal of
// a float64 would round 2^53+1).
func rawNative(t *testing.T, version string) []byte {
	b := nativeBody(t, map[string]any{"version": 1})
	return bytes.Replace(b, []byte(`"version":1`), []byte(`"version":`+version), 1)
}

// fhirAppointment is a FHIR Appointment with a contained Patient; meta is its JSON meta.
func fhirAppointment(id, meta, patientID string) string {
	return fmt.Sprintf(`{"resourceType":"Appointment","id":%q,"meta":%s,"status":"booked",
 "start":"2026-12-03T10:00:00-05:00","minutesDuration":30,
 "contained":[{"resourceType":"Patient","id":"p1","identifier":[{"use":"usual","value":%q}],
   "telecom":[{"system":"phone","value":"+15550100143","use":"mobile"}]}],
 "participant":[{"actor":{"reference":"#p1"}}]}`, id, meta, patientID)
}

// fhirSlot is a FHIR Slot with a contained Schedule; meta is its JSON meta.
func fhirSlot(id, meta, status string) string {
	return fmt.Sprintf(`{"resourceType":"Slot","id":%q,"meta":%s,"status":%q,
 "start":"2026-12-03T09:00:00-05:00","end":"2026-12-03T09:30:00-05:00",
 "contained":[{"resourceType":"Schedule","id":"s","actor":[{"reference":"Practitioner/p1","display":"Dr. Ana Example"}]}],
 "schedule":{"reference":"#s"}}`, id, meta, status)
}

// slotJSON is a valid native slot body with fields replaced (raw JSON values) or removed ("").
func slotJSON(set map[string]string) []byte {
	fields := map[string]string{"start": `"2026-12-03T09:00:00-05:00"`, "durationMinutes": "30", "status": `"free"`,
		"location": `{"name":"Main Street Clinic"}`, "visitType": `"FOLLOWUP"`, "version": "1"}
	for k, v := range set {
		if v == "" {
			delete(fields, k)
		} else {
			fields[k] = v
		}
	}
	var parts []string
	for _, k := range []string{"start", "durationMinutes", "status", "location", "visitType", "version", "updatedAt"} {
		if v, ok := fields[k]; ok {
			parts = append(parts, fmt.Sprintf("%q:%s", k, v))
		}
	}
	return []byte("{" + strings.Join(parts, ",") + "}")
}

func fhirBundle(resources ...string) []byte {
	var entries []string
	for _, r := range resources {
		entries = append(entries, `{"resource":`+r+`}`)
	}
	return []byte(`{"resourceType":"Bundle","type":"transaction","entry":[` + strings.Join(entries, ",") + `]}`)
}

// hostileCase is one hostile or edge request and what it must get.
type hostileCase struct {
	name string
	// setup runs before the snapshot: state the request meets (a first delivery).
	setup func(h *secHarness)
	req   func(h *secHarness) *http.Request
	// status and typ: the problem type URI, or for FHIR answers the issue code.
	status int
	typ    string
	fhir   bool
	// pointer, when set, must be one of the answer's field pointers (expressions).
	pointer string
	// internal is text the real error holds: it must be in exactly one ERROR log
	// line, the one the answer's correlation id names, and never in the answer.
	internal string
	// replay is a same-id, same-request redelivery: answered as the first was.
	replay bool
}

const (
	ptInvalid  = "https://frontdesk.dev/problems/invalid-request"
	ptAuth     = "https://frontdesk.dev/problems/unauthorized"
	ptNotFound = "https://frontdesk.dev/problems/not-found"
	ptConflict = "https://frontdesk.dev/problems/conflict"
	ptTooLarge = "https://frontdesk.dev/problems/too-large"
	ptMedia    = "https://frontdesk.dev/problems/unsupported-media-type"
	ptMethod   = "https://frontdesk.dev/problems/method-not-allowed"
	ptUnavail  = "https://frontdesk.dev/problems/unavailable"
)

func hostileCases(t *testing.T) []hostileCase {
	appt := "/v1/clinics/" + clinicID + "/appointments/appt-1"
	consentPath := "/v1/clinics/" + clinicID + "/patients/pat-100/consent"
	fhir := "/v1/clinics/" + clinicID + "/fhir"
	good := nativeBody(t, nil)
	long := strings.Repeat("c", 2048)
	oversize := bytes.Repeat([]byte(" "), httpapi.MaxBodyBytes+1)
	hour := time.Hour
	at := func(d time.Duration) string {
		return time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC).Add(d).Format(time.RFC3339)
	}
	metaBody := []byte(`{"object":"whatsapp_business_account","entry":[]}`)
	fhirV1 := fhirAppointment("appt-f1", `{"versionId":"1"}`, "pat-300")
	slotPath := "/v1/clinics/" + clinicID + "/slots/slot-1"
	slotsWindow := "/v1/clinics/" + clinicID + "/slots?from=2026-12-01T00:00:00Z&to=2026-12-08T00:00:00Z"
	metricsPath := "/v1/clinics/" + clinicID + "/metrics"
	noticesPath := "/v1/clinics/" + clinicID + "/patients/pat-100/notices"
	bookPatient := func(h *secHarness) {
		// An earlier case may have booked it already (200); either way pat-100 exists.
		if resp := h.do(h.signedNow("PUT", appt, "application/json", "", good)); resp.StatusCode != 200 && resp.StatusCode != 201 {
			h.t.Fatalf("book: %d %s", resp.StatusCode, readAll(resp))
		}
	}
	return []hostileCase{
		// Authentication of signed writes.
		{name: "native: wrong signature", status: 401, typ: ptAuth, req: func(h *secHarness) *http.Request {
			r := h.signedNow("PUT", appt, "application/json", "", good)
			r.Header.Set("webhook-signature", "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
			return r
		}},
		{name: "native: no signature headers", status: 401, typ: ptAuth, req: func(h *secHarness) *http.Request {
			return h.bearerReq("PUT", appt, "application/json", secWriteToken, good)
		}},
		{name: "native: timestamp 6 minutes old", status: 401, typ: ptAuth, req: func(h *secHarness) *http.Request {
			return h.signedReq("PUT", appt, "application/json", "", good, h.clock.Now().Add(-6*time.Minute))
		}},
		{name: "native: timestamp 6 minutes ahead", status: 401, typ: ptAuth, req: func(h *secHarness) *http.Request {
			return h.signedReq("PUT", appt, "application/json", "", good, h.clock.Now().Add(6*time.Minute))
		}},
		// Shape of the request.
		{name: "native: body over 256 KiB", status: 413, typ: ptTooLarge, req: func(h *secHarness) *http.Request {
			return h.signedNow("PUT", appt, "application/json", "", oversize)
		}},
		{name: "native: text/plain", status: 415, typ: ptMedia, req: func(h *secHarness) *http.Request {
			return h.signedNow("PUT", appt, "text/plain", "", good)
		}},
		{name: "native: malformed JSON", status: 400, typ: ptInvalid, req: func(h *secHarness) *http.Request {
			return h.signedNow("PUT", appt, "application/json", "", []byte(`{"status":"booked",`))
		}},
		// Bounded ordering.
		{name: "native: version 2^53", status: 400, typ: ptInvalid, pointer: "/version", req: func(h *secHarness) *http.Request {
			return h.signedNow("PUT", appt, "application/json", "", rawNative(t, secOverMaxVersion))
		}},
		{name: "native: version 1e300", status: 400, typ: ptInvalid, pointer: "/version", req: func(h *secHarness) *http.Request {
			return h.signedNow("PUT", appt, "application/json", "", rawNative(t, "1e300"))
		}},
		{name: "native: updatedAt in year 9999", status: 400, typ: ptInvalid, pointer: "/updatedAt", req: func(h *secHarness) *http.Request {
			return h.signedNow("PUT", appt, "application/json", "", nativeBody(t, map[string]any{"version": nil, "updatedAt": "9999-12-31T23:59:59Z"}))
		}},
		{name: "native: updatedAt 6 minutes ahead", status: 400, typ: ptInvalid, pointer: "/updatedAt", req: func(h *secHarness) *http.Request {
			return h.signedNow("PUT", appt, "application/json", "", nativeBody(t, map[string]any{"version": nil, "updatedAt": at(6 * time.Minute)}))
		}},
		{name: "native: embedded consent at an hour ahead", status: 400, typ: ptInvalid, pointer: "/consent/at", req: func(h *secHarness) *http.Request {
			return h.signedNow("PUT", appt, "application/json", "", nativeBody(t, map[string]any{
				"consent": map[string]any{"whatsapp": "opted_in", "at": at(hour), "source": "intake-form"}}))
		}},
		{name: "native: embedded consent claims source whatsapp", status: 400, typ: ptInvalid, pointer: "/consent/source", req: func(h *secHarness) *http.Request {
			return h.signedNow("PUT", appt, "application/json", "", nativeBody(t, map[string]any{
				"consent": map[string]any{"whatsapp": "opted_in", "at": at(-hour), "source": "WhatsApp"}}))
		}},
		// Ids over the limits.
		{name: "native: unknown clinic", status: 404, typ: ptNotFound, req: func(h *secHarness) *http.Request {
			return h.signedNow("PUT", "/v1/clinics/no-such-clinic/appointments/appt-1", "application/json", "", good)
		}},
		{name: "native: 2 KB clinic id", status: 404, typ: ptNotFound, req: func(h *secHarness) *http.Request {
			return h.signedNow("PUT", "/v1/clinics/"+long+"/appointments/appt-1", "application/json", "", good)
		}},
		{name: "native: # in the clinic id", status: 404, typ: ptNotFound, req: func(h *secHarness) *http.Request {
			return h.signedNow("PUT", "/v1/clinics/"+clinicID+"%23x/appointments/appt-1", "application/json", "", good)
		}},
		{name: "native: # in the appointment id", status: 400, typ: ptInvalid, req: func(h *secHarness) *http.Request {
			return h.signedNow("PUT", "/v1/clinics/"+clinicID+"/appointments/appt%231", "application/json", "", good)
		}},
		{name: "native: 2 KB appointment id", status: 400, typ: ptInvalid, req: func(h *secHarness) *http.Request {
			return h.signedNow("PUT", "/v1/clinics/"+clinicID+"/appointments/"+long, "application/json", "", good)
		}},
		{name: "native: 2 KB webhook-id", status: 400, typ: ptInvalid, req: func(h *secHarness) *http.Request {
			return h.signedNow("PUT", appt, "application/json", "msg_"+long, good)
		}},
		// Idempotency bound to the request.
		{name: "native: reused webhook-id, different body", status: 422, typ: httpapi.ProblemIdempotencyKeyReused,
			setup: func(h *secHarness) {
				expectStatus(h.t, h.do(h.signedNow("PUT", appt, "application/json", "msg_reuse_body", good)), 201)
			},
			req: func(h *secHarness) *http.Request {
				return h.signedNow("PUT", appt, "application/json", "msg_reuse_body", nativeBody(t, map[string]any{"status": "cancelled", "version": 2}))
			}},
		{name: "native: reused webhook-id, different route", status: 422, typ: httpapi.ProblemIdempotencyKeyReused,
			req: func(h *secHarness) *http.Request {
				return h.signedNow("PUT", "/v1/clinics/"+clinicID+"/appointments/appt-2", "application/json", "msg_reuse_body", good)
			}},
		{name: "native: reused webhook-id on the consent route", status: 422, typ: httpapi.ProblemIdempotencyKeyReused,
			req: func(h *secHarness) *http.Request {
				return h.signedNow("PUT", consentPath, "application/json", "msg_reuse_body",
					[]byte(`{"whatsapp":"opted_in","at":"2026-11-20T10:00:00Z","source":"front-desk"}`))
			}},
		{name: "native: same webhook-id, route and body replays the first answer", status: 201, replay: true,
			req: func(h *secHarness) *http.Request {
				return h.signedNow("PUT", appt, "application/json", "msg_reuse_body", good)
			}},
		{name: "native: delivery in progress elsewhere (409)", status: 409, typ: ptConflict,
			setup: func(h *secHarness) {
				if _, err := h.store.ClaimIdempotency(context.Background(), "ehr:"+clinicID+":msg_in_flight", httpapi.IdempotencyLease); err != nil {
					h.t.Fatal(err)
				}
			},
			req: func(h *secHarness) *http.Request {
				return h.signedNow("PUT", "/v1/clinics/"+clinicID+"/appointments/appt-3", "application/json", "msg_in_flight", good)
			}},
		// Concurrency that never settles: the patient and consent may be written
		// first, so the answer is a retryable 5xx, never a 4xx.
		{name: "native: optimistic lock lost every time", status: 503, typ: ptUnavail, internal: "conflict after 5 attempts",
			req: func(h *secHarness) *http.Request {
				return h.signedNow("PUT", "/v1/clinics/"+clinicID+"/appointments/"+contendedApptID, "application/json", "", good)
			}},
		// Consent statements.
		{name: "consent: source whatsapp", status: 400, typ: ptInvalid, pointer: "/source", req: func(h *secHarness) *http.Request {
			return h.signedNow("PUT", consentPath, "application/json", "", []byte(`{"whatsapp":"opted_in","at":"2026-11-20T10:00:00Z","source":"whatsapp"}`))
		}},
		{name: "consent: at an hour ahead", status: 400, typ: ptInvalid, pointer: "/at", req: func(h *secHarness) *http.Request {
			return h.signedNow("PUT", consentPath, "application/json", "", []byte(`{"whatsapp":"opted_in","at":"`+at(hour)+`","evidence":"form 9"}`))
		}},
		{name: "consent: # in the patient id", status: 400, typ: ptInvalid, req: func(h *secHarness) *http.Request {
			return h.signedNow("PUT", "/v1/clinics/"+clinicID+"/patients/pat%23100/consent", "application/json", "",
				[]byte(`{"whatsapp":"opted_out","at":"2026-11-20T10:00:00Z"}`))
		}},
		// Reads and token scopes.
		{name: "read: no token", status: 401, typ: ptAuth, req: func(h *secHarness) *http.Request { return h.bearerReq("GET", appt, "", "", nil) }},
		{name: "read: the write token", status: 403, typ: httpapi.ProblemTokenScope, req: func(h *secHarness) *http.Request {
			return h.bearerReq("GET", appt, "", secWriteToken, nil)
		}},
		{name: "read: 2 KB clinic id", status: 404, typ: ptNotFound, req: func(h *secHarness) *http.Request {
			return h.bearerReq("GET", "/v1/clinics/"+long+"/patients/pat-100/consent", "", testToken, nil)
		}},
		{name: "read: # in the appointment id", status: 400, typ: ptInvalid, req: func(h *secHarness) *http.Request {
			return h.bearerReq("GET", "/v1/clinics/"+clinicID+"/appointments/appt%231", "", testToken, nil)
		}},
		// FHIR.
		{name: "fhir: the read token on a write", status: 403, typ: "forbidden", fhir: true, req: func(h *secHarness) *http.Request {
			return h.bearerReq("POST", fhir, "application/fhir+json", testToken, []byte(fhirV1))
		}},
		{name: "fhir: no token and no signature", status: 401, typ: "security", fhir: true, req: func(h *secHarness) *http.Request {
			return h.bearerReq("POST", fhir, "application/fhir+json", "", []byte(fhirV1))
		}},
		{name: "fhir: wrong token", status: 401, typ: "security", fhir: true, req: func(h *secHarness) *http.Request {
			return h.bearerReq("POST", fhir, "application/fhir+json", "not-a-token", []byte(fhirV1))
		}},
		{name: "fhir: malformed JSON", status: 400, typ: "invalid", fhir: true, req: func(h *secHarness) *http.Request {
			return h.bearerReq("POST", fhir, "application/fhir+json", secWriteToken, []byte(`{"resourceType":`))
		}},
		{name: "fhir: text/xml", status: 415, typ: "not-supported", fhir: true, req: func(h *secHarness) *http.Request {
			return h.bearerReq("POST", fhir, "text/xml", secWriteToken, []byte(fhirV1))
		}},
		{name: "fhir: body over 256 KiB", status: 413, typ: "too-long", fhir: true, req: func(h *secHarness) *http.Request {
			return h.bearerReq("POST", fhir, "application/fhir+json", secWriteToken, oversize)
		}},
		{name: "fhir: meta.lastUpdated an hour ahead", status: 400, typ: "invalid", fhir: true, pointer: "Appointment.meta.lastUpdated",
			req: func(h *secHarness) *http.Request {
				return h.bearerReq("POST", fhir, "application/fhir+json", secWriteToken,
					[]byte(fhirAppointment("appt-f2", `{"lastUpdated":"`+at(hour)+`"}`, "pat-300")))
			}},
		{name: "fhir: meta.versionId 2^53", status: 400, typ: "invalid", fhir: true, pointer: "Appointment.meta.versionId",
			req: func(h *secHarness) *http.Request {
				return h.bearerReq("POST", fhir, "application/fhir+json", secWriteToken,
					[]byte(fhirAppointment("appt-f2", `{"versionId":"`+secOverMaxVersion+`"}`, "pat-300")))
			}},
		{name: "fhir: Bundle with one valid and one invalid appointment", status: 400, typ: "invalid", fhir: true,
			pointer: "Bundle.entry[1].resource.start",
			req: func(h *secHarness) *http.Request {
				bad := strings.Replace(fhirAppointment("appt-f4", `{"versionId":"1"}`, "pat-301"), "2026-12-03T10:00:00-05:00", "tomorrow", 1)
				return h.bearerReq("POST", fhir, "application/fhir+json", secWriteToken, fhirBundle(fhirAppointment("appt-f3", `{"versionId":"1"}`, "pat-300"), bad))
			}},
		{name: "fhir: Bundle whose second appointment names an unknown patient", status: 422, typ: "not-found", fhir: true,
			req: func(h *secHarness) *http.Request {
				byRef := `{"resourceType":"Appointment","id":"appt-f6","meta":{"versionId":"1"},"status":"booked","start":"2026-12-03T11:00:00-05:00",
 "participant":[{"actor":{"reference":"Patient/pat-never-seen"}}]}`
				return h.bearerReq("POST", fhir, "application/fhir+json", secWriteToken, fhirBundle(fhirAppointment("appt-f5", `{"versionId":"1"}`, "pat-300"), byRef))
			}},
		{name: "fhir: re-keying a versionId appointment to lastUpdated", status: 422, typ: "business-rule", fhir: true,
			setup: func(h *secHarness) {
				expectStatus(h.t, h.do(h.bearerReq("POST", fhir, "application/fhir+json", secWriteToken, []byte(fhirV1))), 200)
			},
			req: func(h *secHarness) *http.Request {
				return h.bearerReq("POST", fhir, "application/fhir+json", secWriteToken,
					[]byte(fhirAppointment("appt-f1", `{"lastUpdated":"`+at(-time.Minute)+`"}`, "pat-300")))
			}},
		{name: "fhir: Bundle re-keying an appointment it creates", status: 422, typ: "business-rule", fhir: true,
			req: func(h *secHarness) *http.Request {
				return h.bearerReq("POST", fhir, "application/fhir+json", secWriteToken, fhirBundle(
					fhirAppointment("appt-f7", `{"versionId":"1"}`, "pat-302"),
					fhirAppointment("appt-f7", `{"lastUpdated":"`+at(-time.Minute)+`"}`, "pat-302")))
			}},
		{name: "fhir: reused webhook-id, different body", status: 422, typ: "duplicate", fhir: true,
			setup: func(h *secHarness) {
				expectStatus(h.t, h.do(h.signedNow("POST", fhir, "application/fhir+json", "msg_fhir_reuse", fixture(h.t, "../ehr/testdata/fhir/notification-heartbeat.json"))), 200)
			},
			req: func(h *secHarness) *http.Request {
				return h.signedNow("POST", fhir, "application/fhir+json", "msg_fhir_reuse", fixture(h.t, "../ehr/testdata/fhir/notification-handshake.json"))
			}},
		{name: "fhir: 2 KB clinic id", status: 404, typ: "not-found", fhir: true, req: func(h *secHarness) *http.Request {
			return h.bearerReq("POST", "/v1/clinics/"+long+"/fhir", "application/fhir+json", secWriteToken, []byte(fhirV1))
		}},
		// Slots: the same rules as appointments.
		{name: "slot: bad status", status: 400, typ: ptInvalid, pointer: "/status", req: func(h *secHarness) *http.Request {
			return h.signedNow("PUT", slotPath, "application/json", "", slotJSON(map[string]string{"status": `"open"`}))
		}},
		{name: "slot: negative duration", status: 400, typ: ptInvalid, pointer: "/durationMinutes", req: func(h *secHarness) *http.Request {
			return h.signedNow("PUT", slotPath, "application/json", "", slotJSON(map[string]string{"durationMinutes": "-30"}))
		}},
		{name: "slot: updatedAt in the year 9999", status: 400, typ: ptInvalid, pointer: "/updatedAt", req: func(h *secHarness) *http.Request {
			return h.signedNow("PUT", slotPath, "application/json", "", slotJSON(map[string]string{"version": "", "updatedAt": `"9999-12-31T00:00:00Z"`}))
		}},
		{name: "slot: updatedAt an hour ahead", status: 400, typ: ptInvalid, pointer: "/updatedAt", req: func(h *secHarness) *http.Request {
			return h.signedNow("PUT", slotPath, "application/json", "", slotJSON(map[string]string{"version": "", "updatedAt": `"` + at(hour) + `"`}))
		}},
		{name: "slot: version 2^53", status: 400, typ: ptInvalid, pointer: "/version", req: func(h *secHarness) *http.Request {
			return h.signedNow("PUT", slotPath, "application/json", "", slotJSON(map[string]string{"version": secOverMaxVersion}))
		}},
		{name: "slot: visitType with a leading space", status: 400, typ: ptInvalid, pointer: "/visitType", req: func(h *secHarness) *http.Request {
			return h.signedNow("PUT", slotPath, "application/json", "", slotJSON(map[string]string{"visitType": `" FOLLOWUP"`}))
		}},
		{name: "slot: the read token on PUT (signature required)", status: 401, typ: ptAuth, req: func(h *secHarness) *http.Request {
			return h.bearerReq("PUT", slotPath, "application/json", testToken, slotJSON(nil))
		}},
		{name: "slot: wrong signature", status: 401, typ: ptAuth, req: func(h *secHarness) *http.Request {
			r := h.signedNow("PUT", slotPath, "application/json", "", slotJSON(nil))
			r.Header.Set("webhook-signature", "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
			return r
		}},
		{name: "slot: # in the slot id", status: 400, typ: ptInvalid, req: func(h *secHarness) *http.Request {
			return h.signedNow("PUT", "/v1/clinics/"+clinicID+"/slots/slot%231", "application/json", "", slotJSON(nil))
		}},
		{name: "slot: reused webhook-id, different body", status: 422, typ: httpapi.ProblemIdempotencyKeyReused,
			setup: func(h *secHarness) {
				expectStatus(h.t, h.do(h.signedNow("PUT", slotPath, "application/json", "msg_slot_reuse", slotJSON(nil))), 201)
			},
			req: func(h *secHarness) *http.Request {
				return h.signedNow("PUT", slotPath, "application/json", "msg_slot_reuse", slotJSON(map[string]string{"status": `"busy"`}))
			}},
		{name: "slot: clinic secret unavailable (forced 5xx)", status: 500, typ: httpapi.ProblemInternal, internal: brokenSecretARN,
			req: func(h *secHarness) *http.Request {
				return h.signedNow("PUT", "/v1/clinics/"+brokenClinicID+"/slots/slot-1", "application/json", "", slotJSON(nil))
			}},
		{name: "slot: optimistic lock lost every time", status: 503, typ: ptUnavail, internal: "conflict after 5 attempts",
			req: func(h *secHarness) *http.Request {
				return h.signedNow("PUT", "/v1/clinics/"+clinicID+"/slots/"+contendedSlotID, "application/json", "", slotJSON(nil))
			}},
		{name: "slots read: the write token", status: 403, typ: httpapi.ProblemTokenScope, req: func(h *secHarness) *http.Request {
			return h.bearerReq("GET", slotsWindow, "", secWriteToken, nil)
		}},
		{name: "slots read: a window of 32 days", status: 400, typ: ptInvalid, req: func(h *secHarness) *http.Request {
			return h.bearerReq("GET", "/v1/clinics/"+clinicID+"/slots?from=2026-12-01T00:00:00Z&to=2027-01-02T00:00:00Z", "", testToken, nil)
		}},
		{name: "slots read: a forged cursor", status: 400, typ: ptInvalid, req: func(h *secHarness) *http.Request {
			return h.bearerReq("GET", slotsWindow+"&cursor=%27%3B--", "", testToken, nil)
		}},
		{name: "metrics: from after to", status: 400, typ: ptInvalid, req: func(h *secHarness) *http.Request {
			return h.bearerReq("GET", metricsPath+"?from=2026-11-14&to=2026-11-01", "", testToken, nil)
		}},
		{name: "metrics: a range of 367 days", status: 400, typ: ptInvalid, req: func(h *secHarness) *http.Request {
			return h.bearerReq("GET", metricsPath+"?from=2025-11-01&to=2026-11-02", "", testToken, nil)
		}},
		{name: "metrics: interval month", status: 400, typ: ptInvalid, req: func(h *secHarness) *http.Request {
			return h.bearerReq("GET", metricsPath+"?from=2026-11-01&to=2026-11-14&interval=month", "", testToken, nil)
		}},
		{name: "metrics: February 30th", status: 400, typ: ptInvalid, req: func(h *secHarness) *http.Request {
			return h.bearerReq("GET", metricsPath+"?from=2026-02-01&to=2026-02-30", "", testToken, nil)
		}},
		{name: "metrics: a date-time instead of a date", status: 400, typ: ptInvalid, req: func(h *secHarness) *http.Request {
			return h.bearerReq("GET", metricsPath+"?from=2026-11-01T00:00:00Z&to=2026-11-14", "", testToken, nil)
		}},
		{name: "metrics: no from or to", status: 400, typ: ptInvalid, req: func(h *secHarness) *http.Request {
			return h.bearerReq("GET", metricsPath, "", testToken, nil)
		}},
		{name: "metrics: the write token", status: 403, typ: httpapi.ProblemTokenScope, req: func(h *secHarness) *http.Request {
			return h.bearerReq("GET", metricsPath+"?from=2026-11-01&to=2026-11-14", "", secWriteToken, nil)
		}},
		{name: "metrics: no token", status: 401, typ: ptAuth, req: func(h *secHarness) *http.Request {
			return h.bearerReq("GET", metricsPath+"?from=2026-11-01&to=2026-11-14", "", "", nil)
		}},
		{name: "metrics: unknown clinic", status: 404, typ: "https://frontdesk.dev/problems/not-found", req: func(h *secHarness) *http.Request {
			return h.bearerReq("GET", "/v1/clinics/no-such-clinic/metrics?from=2026-11-01&to=2026-11-14", "", testToken, nil)
		}},
		{name: "fhir: Slot whose Schedule is only referenced", status: 400, typ: "invalid", fhir: true, pointer: "Slot.schedule.reference",
			req: func(h *secHarness) *http.Request {
				body := strings.Replace(fhirSlot("slot-f1", `{"versionId":"1"}`, "free"), `"reference":"#s"`, `"reference":"Schedule/s9"`, 1)
				return h.bearerReq("POST", fhir, "application/fhir+json", secWriteToken, []byte(body))
			}},
		{name: "fhir: Bundle with a valid Slot and one of status open", status: 400, typ: "invalid", fhir: true,
			pointer: "Bundle.entry[1].resource.status",
			req: func(h *secHarness) *http.Request {
				return h.bearerReq("POST", fhir, "application/fhir+json", secWriteToken,
					fhirBundle(fhirSlot("slot-f2", `{"versionId":"1"}`, "free"), fhirSlot("slot-f3", `{"versionId":"1"}`, "open")))
			}},
		{name: "fhir: Bundle with an appointment and a Slot lastUpdated an hour ahead", status: 400, typ: "invalid", fhir: true,
			pointer: "Bundle.entry[1].resource.meta.lastUpdated",
			req: func(h *secHarness) *http.Request {
				return h.bearerReq("POST", fhir, "application/fhir+json", secWriteToken,
					fhirBundle(fhirAppointment("appt-f8", `{"versionId":"1"}`, "pat-300"), fhirSlot("slot-f4", `{"lastUpdated":"`+at(hour)+`"}`, "free")))
			}},
		{name: "fhir: re-keying a versionId slot to lastUpdated", status: 422, typ: "business-rule", fhir: true,
			setup: func(h *secHarness) {
				expectStatus(h.t, h.do(h.bearerReq("POST", fhir, "application/fhir+json", secWriteToken, []byte(fhirSlot("slot-f5", `{"versionId":"1"}`, "free")))), 200)
			},
			req: func(h *secHarness) *http.Request {
				return h.bearerReq("POST", fhir, "application/fhir+json", secWriteToken,
					[]byte(fhirSlot("slot-f5", `{"lastUpdated":"`+at(-time.Minute)+`"}`, "busy")))
			}},
		{name: "fhir: Bundle re-keying a slot it creates", status: 422, typ: "business-rule", fhir: true,
			req: func(h *secHarness) *http.Request {
				return h.bearerReq("POST", fhir, "application/fhir+json", secWriteToken, fhirBundle(
					fhirSlot("slot-f6", `{"versionId":"1"}`, "free"), fhirSlot("slot-f6", `{"lastUpdated":"`+at(-time.Minute)+`"}`, "busy")))
			}},
		{name: "native: waitlist as a string", status: 400, typ: ptInvalid, pointer: "/waitlist", req: func(h *secHarness) *http.Request {
			return h.signedNow("PUT", appt, "application/json", "", nativeBody(t, map[string]any{"waitlist": "yes"}))
		}},
		{name: "fhir: waitlist extension without valueBoolean", status: 400, typ: "invalid", fhir: true, pointer: "Appointment.extension[0].valueBoolean",
			req: func(h *secHarness) *http.Request {
				body := strings.Replace(fhirAppointment("appt-f9", `{"versionId":"1"}`, "pat-300"), `"status":"booked",`,
					`"status":"booked","extension":[{"url":"`+ehr.WaitlistExtensionURL+`","valueString":"yes"}],`, 1)
				return h.bearerReq("POST", fhir, "application/fhir+json", secWriteToken, []byte(body))
			}},
		// Server-side failures: generic text and a correlation id, never internals.
		{name: "fhir: clinic secret unavailable (forced 5xx)", status: 500, typ: "exception", fhir: true, internal: brokenSecretARN,
			req: func(h *secHarness) *http.Request {
				return h.signedNow("POST", "/v1/clinics/"+brokenClinicID+"/fhir", "application/fhir+json", "", []byte(fhirV1))
			}},
		{name: "native: clinic secret unavailable (forced 5xx)", status: 500, typ: httpapi.ProblemInternal, internal: brokenSecretARN,
			req: func(h *secHarness) *http.Request {
				return h.signedNow("PUT", "/v1/clinics/"+brokenClinicID+"/appointments/appt-1", "application/json", "", good)
			}},
		// Notices.
		{name: "notice: unknown kind", status: 400, typ: ptInvalid, pointer: "/kind", req: func(h *secHarness) *http.Request {
			return h.signedNow("POST", noticesPath, "application/json", "", []byte(`{"kind":"lab_result_positive"}`))
		}},
		{name: "notice: free text beside the kind", status: 400, typ: ptInvalid, pointer: "/text", req: func(h *secHarness) *http.Request {
			return h.signedNow("POST", noticesPath, "application/json", "", []byte(`{"kind":"lab_ready","text":"HbA1c 9.1%"}`))
		}},
		{name: "notice: unknown patient", status: 404, typ: ptNotFound, req: func(h *secHarness) *http.Request {
			return h.signedNow("POST", "/v1/clinics/"+clinicID+"/patients/pat-unknown/notices", "application/json", "", []byte(`{"kind":"rx_ready"}`))
		}},
		{name: "notice: recall date that does not exist", status: 400, typ: ptInvalid, pointer: "/dueDate", req: func(h *secHarness) *http.Request {
			return h.signedNow("POST", noticesPath, "application/json", "", []byte(`{"kind":"recall_due","dueDate":"2027-02-30"}`))
		}},
		{name: "notice: recall date in the past", status: 400, typ: ptInvalid, pointer: "/dueDate", req: func(h *secHarness) *http.Request {
			return h.signedNow("POST", noticesPath, "application/json", "", []byte(`{"kind":"recall_due","dueDate":"2026-11-21"}`))
		}},
		{name: "notice: recall without a date", status: 400, typ: ptInvalid, pointer: "/dueDate", req: func(h *secHarness) *http.Request {
			return h.signedNow("POST", noticesPath, "application/json", "", []byte(`{"kind":"recall_due"}`))
		}},
		{name: "notice: feedback for an unknown appointment", status: 422, typ: "https://frontdesk.dev/problems/unprocessable", pointer: "/appointmentId",
			setup: bookPatient,
			req: func(h *secHarness) *http.Request {
				return h.signedNow("POST", noticesPath, "application/json", "", []byte(`{"kind":"feedback","appointmentId":"appt-unknown"}`))
			}},
		{name: "notice: wrong signature", status: 401, typ: ptAuth, req: func(h *secHarness) *http.Request {
			r := h.signedNow("POST", noticesPath, "application/json", "", []byte(`{"kind":"lab_ready"}`))
			r.Header.Set("webhook-signature", "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
			return r
		}},
		{name: "notice: get an unknown notice", status: 404, typ: ptNotFound, req: func(h *secHarness) *http.Request {
			return h.bearerReq("GET", noticesPath+"/ntc_000000000000000000000000", "", testToken, nil)
		}},
		{name: "notice: get with a malformed id", status: 404, typ: ptNotFound, req: func(h *secHarness) *http.Request {
			return h.bearerReq("GET", noticesPath+"/x", "", testToken, nil)
		}},
		// The WhatsApp webhook.
		{name: "webhook: bad X-Hub-Signature-256", status: 401, typ: ptAuth, req: func(h *secHarness) *http.Request {
			return h.metaReq(metaBody, whatsapp.Sign([]byte("not-the-app-secret"), metaBody))
		}},
		{name: "webhook: no signature", status: 401, typ: ptAuth, req: func(h *secHarness) *http.Request { return h.metaReq(metaBody, "") }},
		{name: "webhook: signature of another body", status: 401, typ: ptAuth, req: func(h *secHarness) *http.Request {
			return h.metaReq(metaBody, whatsapp.Sign([]byte(metaAppSecret), []byte(`{"object":"other"}`)))
		}},
		{name: "webhook: body over 256 KiB", status: 413, typ: ptTooLarge, req: func(h *secHarness) *http.Request {
			return h.metaReq(oversize, whatsapp.Sign([]byte(metaAppSecret), oversize))
		}},
		{name: "webhook: signed but not JSON", status: 400, typ: ptInvalid, req: func(h *secHarness) *http.Request {
			body := []byte("hello=world")
			return h.metaReq(body, whatsapp.Sign([]byte(metaAppSecret), body))
		}},
		{name: "webhook: wrong verify token", status: 403, typ: "https://frontdesk.dev/problems/forbidden", req: func(h *secHarness) *http.Request {
			req, _ := http.NewRequest("GET", h.srv.URL+"/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1", nil)
			return req
		}},
		{name: "router: DELETE an appointment", status: 405, typ: ptMethod, req: func(h *secHarness) *http.Request {
			return h.bearerReq("DELETE", appt, "", secWriteToken, nil)
		}},
	}
}

// TestHostileRequestsThroughTheRouter sends each hostile or edge request through
// the production router and handlers against DynamoDB Local and moto, and checks
// the status, the problem type (or OperationOutcome issue code), and, by reading
// every item of every table and every queue's counts, that nothing was stored or
// sent. A 5xx must hide its cause behind a correlation id that names exactly one
// ERROR log line.
func TestHostileRequestsThroughTheRouter(t *testing.T) {
	h := newSecHarness(t)
	cases := hostileCases(t)
	if len(cases) < 30 {
		t.Fatalf("%d cases; the acceptance asks for at least 30", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			if tc.setup != nil {
				tc.setup(h)
			}
			before := h.snapshot()
			logAt := h.logs.Len()
			resp := h.do(tc.req(h))
			body := readAll(resp)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.replay {
				if resp.Header.Get("Idempotent-Replayed") != "true" {
					t.Fatalf("not answered as a replay: %v", resp.Header)
				}
			} else {
				checkAnswer(t, tc, resp, body)
			}
			if tc.internal != "" {
				checkCorrelation(t, h, logAt, tc.internal, body)
			}
			// The contended write may leave the patient and consent behind (that is
			// why it is a 5xx); everything else must leave no trace.
			if tc.status != http.StatusServiceUnavailable {
				if after := h.snapshot(); after != before {
					t.Fatalf("a %d changed stored state or queues:\nbefore:\n%s\nafter:\n%s", tc.status, before, after)
				}
			}
		})
	}
}

func checkAnswer(t *testing.T, tc hostileCase, resp *http.Response, body string) {
	t.Helper()
	var codes, pointers []string
	if tc.fhir {
		if ct := resp.Header.Get("Content-Type"); ct != "application/fhir+json" {
			t.Fatalf("content type %q, want application/fhir+json", ct)
		}
		var oo struct {
			ResourceType string `json:"resourceType"`
			Issue        []struct {
				Code       string   `json:"code"`
				Expression []string `json:"expression"`
			} `json:"issue"`
		}
		if err := json.Unmarshal([]byte(body), &oo); err != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 {
			t.Fatalf("not an OperationOutcome (%v): %s", err, body)
		}
		for _, is := range oo.Issue {
			codes = append(codes, is.Code)
			pointers = append(pointers, is.Expression...)
		}
	} else {
		if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("content type %q, want application/problem+json", ct)
		}
		var p httpapi.Problem
		if err := json.Unmarshal([]byte(body), &p); err != nil || p.Status != tc.status {
			t.Fatalf("not a problem with status %d (%v): %s", tc.status, err, body)
		}
		codes = []string{p.Type}
		for _, e := range p.Errors {
			pointers = append(pointers, e.Pointer)
		}
	}
	for _, c := range codes {
		if c != tc.typ {
			t.Fatalf("type/code %v, want %s: %s", codes, tc.typ, body)
		}
	}
	if tc.pointer != "" && !contains(pointers, tc.pointer) {
		t.Fatalf("no problem points at %s (pointers %v): %s", tc.pointer, pointers, body)
	}
}

func checkCorrelation(t *testing.T, h *secHarness, logAt int, internal, body string) {
	t.Helper()
	for _, leak := range []string{internal, "arn:", "secretsmanager", "dynamo", "revision"} {
		if strings.Contains(strings.ToLower(body), strings.ToLower(leak)) {
			t.Fatalf("the answer leaks %q: %s", leak, body)
		}
	}
	var ids []string
	for _, m := range []string{`"correlationId":"`, "correlation id "} {
		if i := strings.Index(body, m); i >= 0 {
			ids = append(ids, body[i+len(m):i+len(m)+32])
		}
	}
	if len(ids) == 0 {
		t.Fatalf("no correlation id in the answer: %s", body)
	}
	var matching []map[string]any
	for _, line := range h.logLines(logAt) {
		if line["correlation_id"] == ids[0] {
			matching = append(matching, line)
		}
	}
	if len(matching) != 1 || matching[0]["level"] != "ERROR" || !strings.Contains(fmt.Sprint(matching[0]["error"]), internal) {
		t.Fatalf("correlation id %s: want exactly one ERROR line holding the cause %q, got %v", ids[0], internal, matching)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

var _ = io.Discard

// Values at the limits are accepted: the bounds refuse only what is past them.
func TestOrderingBoundsAcceptTheLimits(t *testing.T) {
	h := newSecHarness(t)
	at := func(d time.Duration) string { return h.clock.Now().Add(d).Format(time.RFC3339) }
	cases := []struct {
		name string
		req  *http.Request
		want int
	}{
		{"version 2^53-1", h.signedNow("PUT", "/v1/clinics/"+clinicID+"/appointments/appt-max", "application/json", "", rawNative(t, secMaxVersion)), 201},
		{"updatedAt 4 minutes ahead", h.signedNow("PUT", "/v1/clinics/"+clinicID+"/appointments/appt-skew", "application/json", "",
			nativeBody(t, map[string]any{"version": nil, "updatedAt": at(4 * time.Minute)})), 201},
		{"consent at 4 minutes ahead", h.signedNow("PUT", "/v1/clinics/"+clinicID+"/patients/pat-100/consent", "application/json", "",
			[]byte(`{"whatsapp":"opted_in","at":"`+at(4*time.Minute)+`","source":"front-desk"}`)), 200},
		{"FHIR versionId 2^53-1", h.bearerReq("POST", "/v1/clinics/"+clinicID+"/fhir", "application/fhir+json", secWriteToken,
			[]byte(fhirAppointment("appt-fmax", `{"versionId":"`+secMaxVersion+`"}`, "pat-300"))), 200},
		{"FHIR lastUpdated 4 minutes ahead", h.bearerReq("POST", "/v1/clinics/"+clinicID+"/fhir", "application/fhir+json", secWriteToken,
			[]byte(fhirAppointment("appt-fskew", `{"lastUpdated":"`+at(4*time.Minute)+`"}`, "pat-300"))), 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			expectStatus(t, h.do(tc.req), tc.want)
		})
	}
}

// A FHIR appointment is ordered by the key of its first notification for its
// life: later ones are compared on that key, whichever others they carry.
func TestFHIRAppointmentKeepsItsOrderingKey(t *testing.T) {
	h := newSecHarness(t)
	fhir := "/v1/clinics/" + clinicID + "/fhir"
	at := func(d time.Duration) string { return h.clock.Now().Add(d).Format(time.RFC3339) }
	post := func(meta string) *http.Response {
		return h.do(h.bearerReq("POST", fhir, "application/fhir+json", secWriteToken, []byte(fhirAppointment("appt-k", meta, "pat-300"))))
	}
	steps := []struct {
		meta        string
		status      int
		diagnostics string // in the OperationOutcome
	}{
		{`{"lastUpdated":"` + at(-time.Hour) + `"}`, 200, "created"},
		// versionId 1 is far "below" a timestamp: compared on lastUpdated it is newer.
		{`{"versionId":"1","lastUpdated":"` + at(-time.Minute) + `"}`, 200, "updated"},
		{`{"versionId":"2","lastUpdated":"` + at(-2*time.Minute) + `"}`, 200, "stale"},
		{`{"versionId":"3"}`, 422, "meta.lastUpdated"},
	}
	for i, s := range steps {
		resp := post(s.meta)
		body := readAll(resp)
		if resp.StatusCode != s.status || !strings.Contains(body, s.diagnostics) {
			t.Fatalf("step %d: %d %s, want %d with %q", i, resp.StatusCode, body, s.status, s.diagnostics)
		}
	}
	got := decode(t, h.get("/v1/clinics/"+clinicID+"/appointments/appt-k", testToken))
	want, _ := time.Parse(time.RFC3339, at(-time.Minute))
	if got.OrderingKey != ehr.OrderLastUpdated || got.Version != want.UnixMilli() {
		t.Fatalf("ordering %s/%d, want lastUpdated/%d", got.OrderingKey, got.Version, want.UnixMilli())
	}
}

// Each token does only its own job; a clinic onboarded before tokens were scoped
// keeps pushing FHIR with its read token, with one deprecated_token_scope line a
// day, until it gets a write token.
func TestScopedTokens(t *testing.T) {
	h := newSecHarness(t)
	push := func(clinicID, token, apptID string) int {
		return h.do(h.bearerReq("POST", "/v1/clinics/"+clinicID+"/fhir", "application/fhir+json", token,
			[]byte(fhirAppointment(apptID, `{"versionId":"1"}`, "pat-300")))).StatusCode
	}
	read := func(clinicID, token, apptID string) int {
		return h.do(h.bearerReq("GET", "/v1/clinics/"+clinicID+"/appointments/"+apptID, "", token, nil)).StatusCode
	}
	warnings := func(offset int) int {
		n := 0
		for _, l := range h.logLines(offset) {
			if l["alert"] == "deprecated_token_scope" && l["clinic"] == legacyClinicID && l["level"] == "WARN" {
				n++
			}
		}
		return n
	}
	start := h.logs.Len()
	checks := []struct {
		name      string
		do        func() int
		want      int
		warnSoFar int
	}{
		{"write token pushes", func() int { return push(clinicID, secWriteToken, "appt-w1") }, 200, 0},
		{"read token reads", func() int { return read(clinicID, testToken, "appt-w1") }, 200, 0},
		{"read token cannot push", func() int { return push(clinicID, testToken, "appt-w2") }, 403, 0},
		{"write token cannot read", func() int { return read(clinicID, secWriteToken, "appt-w1") }, 403, 0},
		{"a token of another clinic", func() int { return push(clinicID, legacyReadToken, "appt-w2") }, 401, 0},
		{"legacy clinic pushes with its read token", func() int { return push(legacyClinicID, legacyReadToken, "appt-l1") }, 200, 1},
		{"again the same day: no second line", func() int { return push(legacyClinicID, legacyReadToken, "appt-l2") }, 200, 1},
		{"legacy read token still reads", func() int { return read(legacyClinicID, legacyReadToken, "appt-l1") }, 200, 1},
		{"the next day: one more line", func() int { h.clock.Advance(24 * time.Hour); return push(legacyClinicID, legacyReadToken, "appt-l3") }, 200, 2},
	}
	for _, c := range checks {
		if got := c.do(); got != c.want {
			t.Fatalf("%s: status %d, want %d", c.name, got, c.want)
		}
		if got := warnings(start); got != c.warnSoFar {
			t.Fatalf("%s: %d deprecated_token_scope lines so far, want %d", c.name, got, c.warnSoFar)
		}
	}
}

// The webhook's server-side failures answer like the EHR API's: a generic text
// and a correlation id naming exactly one ERROR line that holds the cause.
func TestWebhookServerFailuresHideTheirCause(t *testing.T) {
	const cause = "arn:aws:secretsmanager:us-east-1:000000000000:secret:frontdesk/test/whatsapp/app-secret-XyZ: AccessDeniedException"
	logs := &localtest.LogBuffer{}
	log := platform.NewLogger(logs, nil)
	clock := platform.NewFakeClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	failing := func(context.Context) (string, error) { return "", fmt.Errorf("get secret %s", cause) }
	hook := &httpapi.Webhook{AppSecret: failing, VerifyToken: failing, Queue: nil, Log: log}
	srv := httptest.NewServer(httpapi.NewRouter(nil, hook, log, clock, ""))
	t.Cleanup(srv.Close)
	h := &secHarness{harness: &harness{t: t, srv: srv, clock: clock}, logs: logs}
	body := []byte(`{"object":"whatsapp_business_account","entry":[]}`)
	for _, req := range []*http.Request{
		h.metaReq(body, whatsapp.Sign([]byte(metaAppSecret), body)),
		func() *http.Request {
			r, _ := http.NewRequest("GET", srv.URL+"/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1", nil)
			return r
		}(),
	} {
		at := logs.Len()
		resp := h.do(req)
		text := readAll(resp)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%s: %d %v, want 503 with Retry-After", req.Method, resp.StatusCode, resp.Header)
		}
		checkCorrelation(t, h, at, cause, text)
	}
}

// panickingClinics stands in for a bug deep in a handler.
type panickingClinics struct{}

func (panickingClinics) GetClinic(context.Context, string) (clinic.Clinic, error) {
	panic("index out of range in table frontdesk-prod-clinics")
}

// A panic is answered like any 5xx: generic text, one correlated ERROR line.
func TestPanicIsAnsweredWithACorrelationID(t *testing.T) {
	logs := &localtest.LogBuffer{}
	log := platform.NewLogger(logs, nil)
	clock := platform.NewFakeClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	api := &httpapi.EHRAPI{Clinics: panickingClinics{}, Clock: clock, Log: log}
	srv := httptest.NewServer(httpapi.NewRouter(api, nil, log, clock, ""))
	t.Cleanup(srv.Close)
	h := &secHarness{harness: &harness{t: t, srv: srv, clock: clock}, logs: logs}
	resp := h.do(h.bearerReq("GET", "/v1/clinics/"+clinicID+"/appointments/appt-1", "", testToken, nil))
	body := readAll(resp)
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	checkCorrelation(t, h, 0, "frontdesk-prod-clinics", body)
}
