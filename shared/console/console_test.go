package console_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/console"
	"github.com/frontdesk-health/frontdesk/shared/console/consoletest"
	"github.com/frontdesk-health/frontdesk/shared/console/devoidc"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

var (
	alex   = devoidc.User{Subject: "staff-alex", Name: "Alex Example", Email: "alex@example.org", Groups: []string{"clinic:clinic-a"}}
	sam    = devoidc.User{Subject: "staff-sam", Name: "Sam Sample", Email: "sam@example.org", Groups: []string{"clinic:clinic-b"}}
	kim    = devoidc.User{Subject: "staff-kim", Name: "Kim Both", Email: "kim@example.org", Groups: []string{"clinic:clinic-b", "clinic:clinic-a"}}
	nobody = devoidc.User{Subject: "staff-none", Name: "Noor None", Email: "noor@example.org", Groups: []string{"admins"}}
)

const patientWords = `I have chest pain <script>alert(1)</script> & can't breathe`

type env struct {
	t     *testing.T
	url   string
	clock *platform.FakeClock
	convs *consoletest.Conversations
	store *dynamo.Store
	logs  *bytes.Buffer
}

func clinicFor(id, name string) clinic.Clinic {
	return clinic.Clinic{ID: id, Name: name, TimeZone: "America/New_York", Country: "US",
		PhoneNumberID: "10555" + id, WABAID: "20555", DefaultLanguage: "en", ReminderPolicy: reminder.DefaultPolicy(),
		Hours: clinic.Hours{Days: []time.Weekday{time.Monday}, Open: "08:00", Close: "17:00"}, EmergencyNumber: "911",
		WebhookSecretRef: "env:X", APITokenHash: "ab"}
}

func start(t *testing.T) *env {
	t.Helper()
	client, names := localtest.Dynamo(t)
	now := time.Now().UTC().Truncate(time.Second)
	clock := platform.NewFakeClock(now)
	store := dynamo.NewStore(client, names, clock, 4)
	ctx := context.Background()
	for _, c := range []clinic.Clinic{clinicFor("clinic-a", "Alpha Family Clinic"), clinicFor("clinic-b", "Beta Clinic")} {
		if err := store.PutClinic(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	ny, _ := time.LoadLocation("America/New_York")
	local := now.In(ny)
	at := time.Date(local.Year(), local.Month(), local.Day(), 10, 30, 0, 0, ny)
	a := appointment.Appointment{ClinicID: "clinic-a", ID: "appt-1", Status: appointment.StatusBooked, Start: at,
		Duration: 30 * time.Minute, PatientID: "pat-1", Version: 1, Response: appointment.ResponseConfirmed}
	if err := store.SaveAppointment(ctx, a, []reminder.Write{{Reminder: reminder.Reminder{ClinicID: "clinic-a",
		AppointmentID: "appt-1", Kind: reminder.KindDayBefore, DueAt: at.Add(-48 * time.Hour), NotAfter: at,
		State: reminder.StateRead, Generation: "g"}}}); err != nil {
		t.Fatal(err)
	}
	if err := store.PutPatient(ctx, appointment.Patient{ClinicID: "clinic-a", ID: "pat-1", Phone: "+15550100143", GivenName: "Robin"}); err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	idp, err := devoidc.Start(ln, []devoidc.User{alex, sam, kim, nobody})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.Stop)

	convs := &consoletest.Conversations{Clock: clock}
	convs.Add("clinic-a", console.Thread{Open: true, ConversationSummary: console.ConversationSummary{ID: "conv-question",
		PatientName: "Robin", Reason: "free text", LastMessageAt: now.Add(-time.Minute), WindowUntil: now.Add(23 * time.Hour)},
		Messages: []console.Message{{At: now.Add(-time.Minute), From: "patient", Text: "Can I come 30 minutes later?"}}})
	convs.Add("clinic-a", console.Thread{Open: true, ConversationSummary: console.ConversationSummary{ID: "conv-emergency",
		Reason: "emergency", Urgent: true, LastMessageAt: now.Add(-time.Hour), WindowUntil: now.Add(23 * time.Hour)},
		Messages: []console.Message{{At: now.Add(-time.Hour), From: "patient", Text: patientWords}}})
	convs.Add("clinic-a", console.Thread{Open: true, ConversationSummary: console.ConversationSummary{ID: "conv-old",
		PatientName: "Kai", Reason: "free text", LastMessageAt: now.Add(-30 * time.Hour), WindowUntil: now.Add(-6 * time.Hour)},
		Messages: []console.Message{{At: now.Add(-30 * time.Hour), From: "patient", Text: "Old question"}}})

	logs := &bytes.Buffer{}
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	c := &console.Console{
		Config: console.Config{BaseURL: base, InsecureLoopback: true},
		Auth: &console.OIDC{Issuer: idp.Issuer(), ClientID: devoidc.ClientID, ClientSecret: devoidc.ClientSecret,
			RedirectURL: base + "/console/callback", AuthStyle: oauth2.AuthStyleInParams},
		Sessions: store, Logins: store, Clinics: store, Appointments: store, Patients: store,
		Conversations: convs, Clock: clock, Log: platform.NewLogger(logs, slog.LevelInfo),
	}
	if err := c.New(); err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = c.Mount(http.NotFoundHandler())
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		for _, secret := range []string{"+15550100143", "Robin", "Kai", "Alex Example", "Sam Sample", "Kim Both", "chest pain", "30 minutes later", "Old question", "Thanks, we will call you"} {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("the console's logs hold %q", secret)
			}
		}
	})
	return &env{t: t, url: base, clock: clock, convs: convs, store: store, logs: logs}
}

// browser is an HTTP client with a cookie jar that does not follow redirects, so
// each hop can be checked.
type browser struct {
	e   *env
	c   *http.Client
	jar *cookiejar.Jar
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, jar: jar, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, target string, form url.Values, header http.Header) (*http.Response, string) {
	b.e.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = b.e.url + target
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

// signIn runs the whole code flow through the dev provider's user picker and
// returns the page it lands on.
func (b *browser) signIn(u devoidc.User, start string) (*http.Response, string) {
	b.e.t.Helper()
	resp, _ := b.do("GET", start, nil, nil)
	for hops := 0; hops < 10; hops++ {
		loc := resp.Header.Get("Location")
		if loc == "" {
			b.e.t.Fatalf("sign-in stopped at %d without a redirect", resp.StatusCode)
		}
		next, _ := url.Parse(loc)
		if next.Host == "" {
			next, _ = url.Parse(b.e.url + loc)
		}
		if strings.HasSuffix(next.Path, "/oidc/authorize") && next.Query().Get("login_user") == "" {
			page, body := b.do("GET", next.String(), nil, nil)
			if page.StatusCode != 200 || !strings.Contains(body, u.Name) {
				b.e.t.Fatalf("the dev provider's picker: %d %s", page.StatusCode, body)
			}
			q := next.Query()
			if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" {
				b.e.t.Fatalf("authorization request without PKCE S256 or nonce: %s", next.RawQuery)
			}
			q.Set("login_user", u.Subject)
			next.RawQuery = q.Encode()
		}
		var body string
		resp, body = b.do("GET", next.String(), nil, nil)
		if resp.StatusCode == http.StatusOK || resp.StatusCode >= 400 {
			return resp, body
		}
	}
	b.e.t.Fatal("too many redirects")
	return nil, ""
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, body string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF field in %s", body)
	}
	return m[1]
}

func TestSignInAndToday(t *testing.T) {
	e := start(t)
	b := e.browser()
	resp, body := b.signIn(alex, "/console/")
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/console/clinics/clinic-a/today" {
		t.Fatalf("landed on %d %s", resp.StatusCode, resp.Request.URL)
	}
	for _, want := range []string{"Alpha Family Clinic", "10:30", "Robin (pat-1)", "Confirmed", "48 h before: read", "Alex Example", `<main id="main"`, "<caption>", `scope="col"`} {
		if !strings.Contains(body, want) {
			t.Errorf("Today lacks %q:\n%s", want, body)
		}
	}
	h := resp.Header
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "script-src 'self'") ||
		strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP = %q", csp)
	}
	if h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "same-origin" || h.Get("Cache-Control") != "no-store" {
		t.Errorf("headers = %v", h)
	}
	if strings.Contains(body, "<script>") && !strings.Contains(body, `<script src="/console/static/console.js" defer></script>`) {
		t.Errorf("an inline script in the page")
	}
}

func TestSessionCookie(t *testing.T) {
	e := start(t)
	b := e.browser()
	resp, _ := b.do("GET", "/console/login", nil, nil)
	var saw bool
	for _, ck := range resp.Cookies() {
		if ck.Name == "fd_login" {
			saw = true
			if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" {
				t.Errorf("login cookie %+v", ck)
			}
		}
	}
	if !saw {
		t.Fatal("no login cookie")
	}
	// The session cookie itself, set by the callback.
	b2 := e.browser()
	start := b2.e.url + "/console/"
	_, _ = b2.signIn(alex, start)
	u, _ := url.Parse(e.url)
	var session *http.Cookie
	for _, ck := range b2.jar.Cookies(u) {
		if ck.Name == "fd_session" {
			session = ck
		}
	}
	if session == nil || len(session.Value) < 40 {
		t.Fatalf("session cookie %+v", session)
	}
}

func TestNewRefusesPlainHTTPOffLoopback(t *testing.T) {
	for _, base := range []string{"http://console.example.org", "http://10.0.0.5:8080", "ftp://x", "https://x.example.org/?stage=prod"} {
		c := &console.Console{Config: console.Config{BaseURL: base, InsecureLoopback: true}, Auth: &console.OIDC{},
			Sessions: (*dynamo.Store)(nil), Logins: (*dynamo.Store)(nil), Clinics: (*dynamo.Store)(nil),
			Appointments: (*dynamo.Store)(nil), Clock: platform.SystemClock{}, Log: slog.Default()}
		if err := c.New(); err == nil {
			t.Errorf("New accepted base URL %q", base)
		}
	}
	c := &console.Console{Config: console.Config{BaseURL: "https://console.example.org"}, Auth: &console.OIDC{},
		Sessions: (*dynamo.Store)(nil), Logins: (*dynamo.Store)(nil), Clinics: (*dynamo.Store)(nil),
		Appointments: (*dynamo.Store)(nil), Clock: platform.SystemClock{}, Log: slog.Default()}
	if err := c.New(); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest("GET", "https://console.example.org/console/signed-out", nil))
	if rec.Code != 200 || rec.Header().Get("Strict-Transport-Security") == "" {
		t.Fatalf("https console: %d %v", rec.Code, rec.Header())
	}
	// On the execute-api URL the browser sees the stage in every path; the router does not.
	staged := &console.Console{Config: console.Config{BaseURL: "https://abc123.execute-api.us-east-1.amazonaws.com/prod/"}, Auth: &console.OIDC{},
		Sessions: (*dynamo.Store)(nil), Logins: (*dynamo.Store)(nil), Clinics: (*dynamo.Store)(nil),
		Appointments: (*dynamo.Store)(nil), Clock: platform.SystemClock{}, Log: slog.Default()}
	if err := staged.New(); err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	staged.ServeHTTP(rec, httptest.NewRequest("GET", "https://abc123.execute-api.us-east-1.amazonaws.com/console/signed-out", nil))
	if body := rec.Body.String(); !strings.Contains(body, `href="/prod/console/login"`) || !strings.Contains(body, `href="/prod/console/static/console.css"`) {
		t.Fatalf("links without the stage path:\n%s", body)
	}
	rec = httptest.NewRecorder()
	staged.ServeHTTP(rec, httptest.NewRequest("GET", "https://abc123.execute-api.us-east-1.amazonaws.com/console/clinics/clinic-a/today", nil))
	if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/prod/console/login?return=") {
		t.Fatalf("signed-out visit: %d %q", rec.Code, loc)
	}
	rec = httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest("GET", "https://console.example.org/console/nothing-here", nil))
	if rec.Code != 404 {
		t.Fatalf("unknown console page: %d", rec.Code)
	}
}

func TestInboxThreadReplyClose(t *testing.T) {
	e := start(t)
	b := e.browser()
	b.signIn(alex, "/console/")
	resp, body := b.do("GET", "/console/clinics/clinic-a/inbox", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("inbox: %d", resp.StatusCode)
	}
	emergency := strings.Index(body, "conv-emergency")
	question := strings.Index(body, "conv-question")
	if emergency < 0 || question < 0 || emergency > question || !strings.Contains(body, "Emergency") {
		t.Fatalf("the emergency is not first and marked:\n%s", body)
	}

	resp, body = b.do("GET", "/console/clinics/clinic-a/conversations/conv-emergency", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("thread: %d", resp.StatusCode)
	}
	if strings.Contains(body, "<script>alert(1)</script>") || !strings.Contains(body, "I have chest pain &lt;script&gt;alert(1)&lt;/script&gt; &amp; can&#39;t breathe") {
		t.Fatalf("the patient's words are not shown as written, escaped:\n%s", body)
	}
	if !strings.Contains(body, `id="window-countdown"`) || !strings.Contains(body, "23 h 00 min left") && !strings.Contains(body, "23 h 00 min") {
		t.Errorf("no server-computed countdown:\n%s", body)
	}
	if !strings.Contains(body, `<label for="reply-text">`) {
		t.Errorf("the reply box has no label")
	}
	token := csrfOf(t, body)

	resp, _ = b.do("POST", "/console/clinics/clinic-a/conversations/conv-emergency/reply",
		url.Values{"csrf": {token}, "mode": {"text"}, "text": {"Thanks, we will call you"}}, http.Header{"Origin": {e.url}, "Sec-Fetch-Site": {"same-origin"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("reply: %d", resp.StatusCode)
	}
	_, body = b.do("GET", resp.Header.Get("Location"), nil, nil)
	if !strings.Contains(body, "Reply sent.") || !strings.Contains(body, "Thanks, we will call you") || !strings.Contains(body, "read") {
		t.Fatalf("after the reply:\n%s", body)
	}
	replies, audits, _ := e.convs.Snapshot()
	if len(replies) != 1 || replies[0].Author.Name != "Alex Example" || replies[0].Author.Subject != "staff-alex" || replies[0].Reopen {
		t.Fatalf("replies = %+v", replies)
	}
	var reads, writes int
	for _, a := range audits {
		if a.Actor.Name != "Alex Example" || a.Actor.Subject != "staff-alex" || a.ClinicID != "clinic-a" {
			t.Fatalf("audit entry %+v", a)
		}
		switch a.Action {
		case consoletest.AuditRead:
			reads++
		case consoletest.AuditReply:
			writes++
		}
	}
	if reads != 2 || writes != 1 {
		t.Fatalf("audit: %d reads, %d replies; want 2 and 1 (%+v)", reads, writes, audits)
	}

	// Outside the window: the reopen template is offered, free text is refused.
	_, body = b.do("GET", "/console/clinics/clinic-a/conversations/conv-old", nil, nil)
	if !strings.Contains(body, `id="send-reopen"`) || strings.Contains(body, `id="send-reply"`) {
		t.Fatalf("closed window offers no reopen template:\n%s", body)
	}
	resp, _ = b.do("POST", "/console/clinics/clinic-a/conversations/conv-old/reply",
		url.Values{"csrf": {token}, "mode": {"text"}, "text": {"hello"}}, nil)
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("free text outside the window: %d, want 409", resp.StatusCode)
	}
	resp, _ = b.do("POST", "/console/clinics/clinic-a/conversations/conv-old/reply",
		url.Values{"csrf": {token}, "mode": {"reopen"}, "text": {"We can see you at 11"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("reopen: %d", resp.StatusCode)
	}
	for _, bad := range []url.Values{{"csrf": {token}, "text": {"  "}}, {"csrf": {token}, "text": {strings.Repeat("x", console.MaxReplyBytes+1)}}} {
		if resp, _ = b.do("POST", "/console/clinics/clinic-a/conversations/conv-old/reply", bad, nil); resp.StatusCode != 400 {
			t.Fatalf("bad reply: %d, want 400", resp.StatusCode)
		}
	}
	if replies, _, _ = e.convs.Snapshot(); len(replies) != 2 || !replies[1].Reopen {
		t.Fatalf("replies = %+v", replies)
	}

	resp, _ = b.do("POST", "/console/clinics/clinic-a/conversations/conv-question/close", url.Values{"csrf": {token}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("close: %d", resp.StatusCode)
	}
	_, body = b.do("GET", "/console/clinics/clinic-a/inbox", nil, nil)
	if strings.Contains(body, "conv-question") {
		t.Fatal("a closed conversation is still in the inbox")
	}
	if resp, _ = b.do("GET", "/console/clinics/clinic-a/conversations/no-such", nil, nil); resp.StatusCode != 404 {
		t.Fatalf("unknown conversation: %d", resp.StatusCode)
	}
}

func TestOtherClinicIsForbidden(t *testing.T) {
	e := start(t)
	b := e.browser()
	resp, body := b.signIn(sam, "/console/")
	if resp.Request.URL.Path != "/console/clinics/clinic-b/today" || strings.Contains(body, "Alpha") {
		t.Fatalf("sam landed on %s", resp.Request.URL)
	}
	for _, path := range []string{"/console/clinics/clinic-a/today", "/console/clinics/clinic-a/inbox",
		"/console/clinics/clinic-a/conversations/conv-emergency"} {
		resp, body := b.do("GET", path, nil, nil)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", path, resp.StatusCode)
		}
		for _, leak := range []string{"Alpha Family Clinic", "chest pain", "Robin", "conv-question"} {
			if strings.Contains(body, leak) {
				t.Errorf("%s: the 403 page shows %q", path, leak)
			}
		}
	}
	token := csrfOf(t, body)
	resp, _ = b.do("POST", "/console/clinics/clinic-a/conversations/conv-emergency/reply",
		url.Values{"csrf": {token}, "text": {"hi"}}, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("reply into another clinic: %d", resp.StatusCode)
	}
	if replies, audits, _ := e.convs.Snapshot(); len(replies) != 0 || len(audits) != 0 {
		t.Fatalf("a refused request reached the service: %+v %+v", replies, audits)
	}
	// Someone in no clinic group gets no session at all.
	resp, _ = e.browser().signIn(nobody, "/console/")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a user without clinic groups: %d, want 403", resp.StatusCode)
	}
}

func TestStaffOfTwoClinicsChooses(t *testing.T) {
	e := start(t)
	resp, body := e.browser().signIn(kim, "/console/")
	if resp.Request.URL.Path != "/console/" || !strings.Contains(body, `href="/console/clinics/clinic-a/today">Alpha Family Clinic`) ||
		!strings.Contains(body, `href="/console/clinics/clinic-b/today">Beta Clinic`) {
		t.Fatalf("the clinic choice at %s:\n%s", resp.Request.URL, body)
	}
}

func TestCSRF(t *testing.T) {
	e := start(t)
	b := e.browser()
	_, body := b.signIn(alex, "/console/clinics/clinic-a/inbox")
	token := csrfOf(t, body)
	path := "/console/clinics/clinic-a/conversations/conv-question/close"
	cases := []struct {
		name   string
		form   url.Values
		header http.Header
	}{
		{"no token", url.Values{}, nil},
		{"wrong token", url.Values{"csrf": {"forged"}}, nil},
		{"cross-site fetch metadata", url.Values{"csrf": {token}}, http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		{"same-site other origin", url.Values{"csrf": {token}}, http.Header{"Sec-Fetch-Site": {"same-site"}}},
		{"foreign origin", url.Values{"csrf": {token}}, http.Header{"Origin": {"http://evil.example"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, _ := b.do("POST", path, c.form, c.header)
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("%d, want 403", resp.StatusCode)
			}
		})
	}
	// Without the session cookie (what a cross-site POST carries under SameSite=Lax).
	resp, _ := e.browser().do("POST", path, url.Values{"csrf": {token}}, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("no session: %d, want 403", resp.StatusCode)
	}
	if _, _, closed := e.convs.Snapshot(); len(closed) != 0 {
		t.Fatalf("a refused request closed %v", closed)
	}
}

func TestSessionExpiryAndSignOut(t *testing.T) {
	e := start(t)
	signedIn := func() *browser {
		b := e.browser()
		if resp, _ := b.signIn(alex, "/console/"); resp.StatusCode != 200 {
			t.Fatalf("sign-in: %d", resp.StatusCode)
		}
		return b
	}
	live := func(b *browser) bool {
		resp, _ := b.do("GET", "/console/clinics/clinic-a/today", nil, nil)
		return resp.StatusCode == 200
	}

	t.Run("idle 30 minutes", func(t *testing.T) {
		b := signedIn()
		e.clock.Advance(29 * time.Minute)
		if !live(b) {
			t.Fatal("ended after 29 idle minutes")
		}
		e.clock.Advance(30 * time.Minute)
		resp, _ := b.do("GET", "/console/clinics/clinic-a/today", nil, nil)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/console/login") {
			t.Fatalf("after 30 idle minutes: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("absolute 12 hours", func(t *testing.T) {
		b := signedIn()
		for range 11*3 + 2 { // active every 20 minutes for 11 h 40 min
			e.clock.Advance(20 * time.Minute)
			if !live(b) {
				t.Fatalf("ended while active")
			}
		}
		e.clock.Advance(20 * time.Minute)
		if live(b) {
			t.Fatal("alive after 12 hours")
		}
	})
	t.Run("signing in again ends the previous session", func(t *testing.T) {
		b := signedIn()
		u, _ := url.Parse(e.url)
		kept := b.jar.Cookies(u)
		if resp, _ := b.signIn(alex, "/console/login"); resp.StatusCode != 200 {
			t.Fatalf("second sign-in: %d", resp.StatusCode)
		}
		if !live(b) {
			t.Fatal("the new session does not work")
		}
		replay := e.browser()
		replay.jar.SetCookies(u, kept)
		if live(replay) {
			t.Fatal("the replaced session still works")
		}
	})
	t.Run("sign-out ends it server-side", func(t *testing.T) {
		b := signedIn()
		_, body := b.do("GET", "/console/clinics/clinic-a/today", nil, nil)
		u, _ := url.Parse(e.url)
		kept := b.jar.Cookies(u)
		resp, _ := b.do("POST", "/console/logout", url.Values{"csrf": {csrfOf(t, body)}}, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/signed-out" {
			t.Fatalf("sign-out: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		replay := e.browser()
		replay.jar.SetCookies(u, kept) // the cookie as it was before signing out
		if live(replay) {
			t.Fatal("the old session cookie still works after sign-out")
		}
	})
}

func TestCallbackRefusesForeignOrReplayedState(t *testing.T) {
	e := start(t)
	b := e.browser()
	if resp, _ := b.do("GET", "/console/callback?state=made-up&code=x", nil, nil); resp.StatusCode != 400 {
		t.Fatalf("callback without the login cookie: %d", resp.StatusCode)
	}
	// A login started in one browser cannot be finished in another.
	resp, _ := b.do("GET", "/console/login", nil, nil)
	authz, _ := url.Parse(resp.Header.Get("Location"))
	other := e.browser()
	if resp, _ := other.do("GET", "/console/callback?state="+url.QueryEscape(authz.Query().Get("state"))+"&code=x", nil, nil); resp.StatusCode != 400 {
		t.Fatalf("callback in another browser: %d", resp.StatusCode)
	}
}
