package console

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// MaxReplyBytes bounds a staff reply; WhatsApp's text body limit is 4096 characters.
const MaxReplyBytes = 4096

var funcs = template.FuncMap{
	"countdown": countdown,
}

func parsePages() (map[string]*template.Template, error) {
	pages := map[string]*template.Template{}
	for _, name := range []string{"home", "today", "inbox", "thread", "error", "signedout"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// page is what the layout needs besides the page's own data.
type page struct {
	Root     string // the path the API is mounted at ("" or the stage, e.g. "/prod")
	Title    string
	Staff    string // the signed-in person's name, shown in the header
	CSRF     string
	Clinic   *clinic.Clinic
	Section  string
	Data     any
	Message  string
	SignedIn bool
}

func (c *Console) render(w http.ResponseWriter, status int, name string, p page) {
	var buf bytes.Buffer
	if err := c.pages[name].Execute(&buf, p); err != nil {
		c.Log.Error("console template failed", "template", name, "error", err.Error())
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (c *Console) pageFor(r *http.Request, title string) page {
	cur := sessionOf(r.Context())
	return page{Root: c.root, Title: title, Staff: cur.session.Name, CSRF: cur.session.CSRF, SignedIn: cur.key != ""}
}

// errorPage answers an error as a page that shows nothing but the message.
func (c *Console) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	p := c.pageFor(r, http.StatusText(status))
	p.Message = msg
	p.Data = status
	c.render(w, status, "error", p)
}

// fail logs a server-side failure and answers 500 without its cause.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, op string, err error) {
	c.Log.Error(op, "error", err.Error())
	c.errorPage(w, r, http.StatusInternalServerError, "Something went wrong. Try again in a moment.")
}

func (c *Console) signedOut(w http.ResponseWriter, r *http.Request) {
	c.render(w, http.StatusOK, "signedout", page{Root: c.root, Title: "Signed out"})
}

// home sends a member of one clinic straight to its Today page, others to a choice.
func (c *Console) home(w http.ResponseWriter, r *http.Request) {
	cur := sessionOf(r.Context())
	if len(cur.session.Clinics) == 1 {
		http.Redirect(w, r, c.link("/clinics/"+cur.session.Clinics[0]+"/today"), http.StatusSeeOther)
		return
	}
	var cs []clinic.Clinic
	for _, id := range cur.session.Clinics {
		cl, err := c.Clinics.GetClinic(r.Context(), id)
		if errors.Is(err, fault.ErrNotFound) {
			continue
		}
		if err != nil {
			c.fail(w, r, "console: read clinic", err)
			return
		}
		cs = append(cs, cl)
	}
	p := c.pageFor(r, "Choose a clinic")
	p.Data = cs
	c.render(w, http.StatusOK, "home", p)
}

func (c *Console) clinicOf(w http.ResponseWriter, r *http.Request) (clinic.Clinic, *time.Location, bool) {
	cl, err := c.Clinics.GetClinic(r.Context(), r.PathValue("clinicId"))
	if errors.Is(err, fault.ErrNotFound) {
		c.errorPage(w, r, http.StatusNotFound, "There is no such clinic.")
		return cl, nil, false
	}
	if err != nil {
		c.fail(w, r, "console: read clinic", err)
		return cl, nil, false
	}
	loc, err := cl.Location()
	if err != nil {
		c.fail(w, r, "console: clinic time zone", err)
		return cl, nil, false
	}
	return cl, loc, true
}

type todayRow struct {
	Time, Patient, Status, Answer, AnswerClass string
	Reminders                                  []reminderView
}

type reminderView struct{ Kind, State string }

type todayData struct {
	Day, DayISO, Prev, Next string
	IsToday                 bool
	Rows                    []todayRow
}

var kindLabels = map[reminder.Kind]string{
	reminder.KindDayBefore: "48 h before", reminder.KindSameDay: "2 h before", reminder.KindFollowUp: "follow-up",
}

// answerOf is the patient's answer as the front desk names it.
func answerOf(r appointment.Response) (label, class string) {
	switch r {
	case appointment.ResponseConfirmed:
		return "Confirmed", "answer-confirmed"
	case appointment.ResponseCancelledByPatient:
		return "Cancel requested", "answer-cancel"
	case appointment.ResponseRescheduleRequested:
		return "Reschedule requested", "answer-reschedule"
	}
	return "No answer", "answer-none"
}

func (c *Console) today(w http.ResponseWriter, r *http.Request) {
	cl, loc, ok := c.clinicOf(w, r)
	if !ok {
		return
	}
	now := c.Clock.Now().In(loc)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	if d := r.URL.Query().Get("day"); d != "" {
		parsed, err := time.ParseInLocation(time.DateOnly, d, loc)
		if err != nil {
			c.errorPage(w, r, http.StatusBadRequest, "The day must look like 2026-12-01.")
			return
		}
		day = parsed
	}
	next := day.AddDate(0, 0, 1) // a calendar day: 23 or 25 hours across a DST change
	appts, err := c.Appointments.AppointmentsBetween(r.Context(), cl.ID, day, next)
	if err != nil {
		c.fail(w, r, "console: today", err)
		return
	}
	data := todayData{Day: day.Format("Monday 2 January 2006"), DayISO: day.Format(time.DateOnly),
		Prev: day.AddDate(0, 0, -1).Format(time.DateOnly), Next: next.Format(time.DateOnly),
		IsToday: day.Equal(time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc))}
	names := c.givenNames(r.Context(), cl.ID, appts)
	for _, sa := range appts {
		a := sa.Appointment
		row := todayRow{Time: a.Start.In(loc).Format("15:04"), Patient: a.PatientID, Status: string(a.Status)}
		if n := names[a.PatientID]; n != "" {
			row.Patient = n + " (" + a.PatientID + ")"
		}
		row.Answer, row.AnswerClass = answerOf(a.Response)
		rs := slices.Clone(sa.Reminders)
		slices.SortFunc(rs, func(x, y reminder.Reminder) int { return x.DueAt.Compare(y.DueAt) })
		for _, rem := range rs {
			row.Reminders = append(row.Reminders, reminderView{Kind: cmp.Or(kindLabels[rem.Kind], string(rem.Kind)), State: string(rem.State)})
		}
		data.Rows = append(data.Rows, row)
	}
	p := c.pageFor(r, "Today")
	p.Clinic, p.Section, p.Data = &cl, "today", data
	c.render(w, http.StatusOK, "today", p)
}

// givenNames reads each patient of the day once, a few at a time. A name that cannot
// be read is left out (the row shows the patient id): Today is still useful without it.
func (c *Console) givenNames(ctx context.Context, clinicID string, appts []dynamo.ScheduledAppointment) map[string]string {
	names := map[string]string{}
	if c.Patients == nil {
		return names
	}
	var ids []string
	for _, sa := range appts {
		if !slices.Contains(ids, sa.Appointment.PatientID) {
			ids = append(ids, sa.Appointment.PatientID)
		}
	}
	got := make([]string, len(ids))
	var g errgroup.Group
	g.SetLimit(8)
	for i, id := range ids {
		g.Go(func() error {
			if p, err := c.Patients.GetPatient(ctx, clinicID, id); err == nil {
				got[i] = p.GivenName
			}
			return nil
		})
	}
	_ = g.Wait()
	for i, id := range ids {
		names[id] = got[i]
	}
	return names
}

// needConversations answers when the conversation service is not wired.
func (c *Console) needConversations(w http.ResponseWriter, r *http.Request) bool {
	if c.Conversations != nil {
		return true
	}
	c.errorPage(w, r, http.StatusServiceUnavailable, "Conversations are not available in this deployment yet.")
	return false
}

type inboxRow struct {
	ConversationSummary
	Href, Last, Window string
}

func (c *Console) inbox(w http.ResponseWriter, r *http.Request) {
	cl, loc, ok := c.clinicOf(w, r)
	if !ok || !c.needConversations(w, r) {
		return
	}
	list, err := c.Conversations.OpenConversations(r.Context(), cl.ID, c.author(r))
	if err != nil {
		c.fail(w, r, "console: inbox", err)
		return
	}
	// Emergencies first whatever order the service used, then the newest.
	slices.SortStableFunc(list, func(a, b ConversationSummary) int {
		if a.Urgent != b.Urgent {
			if a.Urgent {
				return -1
			}
			return 1
		}
		return b.LastMessageAt.Compare(a.LastMessageAt)
	})
	now := c.Clock.Now()
	var rows []inboxRow
	for _, s := range list {
		rows = append(rows, inboxRow{ConversationSummary: s,
			Href:   c.link("/clinics/" + cl.ID + "/conversations/" + url.PathEscape(s.ID)),
			Last:   s.LastMessageAt.In(loc).Format("Mon 15:04"),
			Window: countdown(s.WindowUntil, now)})
	}
	p := c.pageFor(r, "Inbox")
	p.Clinic, p.Section, p.Data = &cl, "inbox", rows
	c.render(w, http.StatusOK, "inbox", p)
}

type messageView struct {
	Message
	When string
}

type threadData struct {
	Thread
	Messages    []messageView
	WindowOpen  bool
	WindowUntil string // RFC 3339, for the ticking script
	Countdown   string
	Action      string
	Notice      string
}

func (c *Console) author(r *http.Request) Author {
	s := sessionOf(r.Context()).session
	return Author{Subject: s.Subject, Name: s.Name}
}

func (c *Console) thread(w http.ResponseWriter, r *http.Request) {
	cl, loc, ok := c.clinicOf(w, r)
	if !ok || !c.needConversations(w, r) {
		return
	}
	c.showThread(w, r, cl, loc, http.StatusOK, notices[r.URL.Query().Get("notice")])
}

var notices = map[string]string{
	"sent":     "Reply sent.",
	"reopened": "The reopen template was sent; your text follows when the patient answers.",
	"closed":   "Conversation closed.",
}

func (c *Console) showThread(w http.ResponseWriter, r *http.Request, cl clinic.Clinic, loc *time.Location, status int, notice string) {
	id := r.PathValue("conversationId")
	t, err := c.Conversations.Thread(r.Context(), cl.ID, id, c.author(r))
	if errors.Is(err, ErrConversationNotFound) {
		c.errorPage(w, r, http.StatusNotFound, "There is no such conversation.")
		return
	}
	if err != nil {
		c.fail(w, r, "console: read thread", err)
		return
	}
	now := c.Clock.Now()
	d := threadData{Thread: t, WindowOpen: now.Before(t.WindowUntil), Countdown: countdown(t.WindowUntil, now),
		Action: c.link("/clinics/" + cl.ID + "/conversations/" + url.PathEscape(id)), Notice: notice}
	if d.WindowOpen {
		d.WindowUntil = t.WindowUntil.UTC().Format(time.RFC3339)
	}
	for _, m := range t.Messages {
		d.Messages = append(d.Messages, messageView{Message: m, When: m.At.In(loc).Format("Mon 2 Jan 15:04")})
	}
	p := c.pageFor(r, "Conversation")
	p.Clinic, p.Section, p.Data = &cl, "inbox", d
	c.render(w, status, "thread", p)
}

func (c *Console) reply(w http.ResponseWriter, r *http.Request) {
	cl, loc, ok := c.clinicOf(w, r)
	if !ok || !c.needConversations(w, r) {
		return
	}
	text := strings.TrimSpace(r.PostForm.Get("text"))
	reopen := r.PostForm.Get("mode") == "reopen"
	switch {
	case text == "":
		c.showThread(w, r, cl, loc, http.StatusBadRequest, "Write a reply first.")
		return
	case len(text) > MaxReplyBytes || !utf8.ValidString(text):
		c.showThread(w, r, cl, loc, http.StatusBadRequest, fmt.Sprintf("A reply is at most %d characters.", MaxReplyBytes))
		return
	}
	id := r.PathValue("conversationId")
	err := c.Conversations.Reply(r.Context(), cl.ID, id, Reply{Author: c.author(r), Text: text, Reopen: reopen})
	switch {
	case errors.Is(err, ErrConversationNotFound):
		c.errorPage(w, r, http.StatusNotFound, "There is no such conversation.")
		return
	case errors.Is(err, ErrWindowClosed):
		c.showThread(w, r, cl, loc, http.StatusConflict, "The 24-hour window has closed: send the reopen template instead.")
		return
	case errors.Is(err, ErrOptedOut):
		c.showThread(w, r, cl, loc, http.StatusConflict, "The patient opted out of WhatsApp messages; nothing was sent. Call them instead.")
		return
	case errors.Is(err, ErrReopenPending):
		c.showThread(w, r, cl, loc, http.StatusConflict, "A reopen template is already waiting for the patient's answer; your earlier text follows it.")
		return
	case err != nil:
		c.fail(w, r, "console: reply", err)
		return
	}
	notice := "sent"
	if reopen {
		notice = "reopened"
	}
	http.Redirect(w, r, c.link("/clinics/"+cl.ID+"/conversations/"+url.PathEscape(id))+"?notice="+notice, http.StatusSeeOther)
}

func (c *Console) close(w http.ResponseWriter, r *http.Request) {
	cl, _, ok := c.clinicOf(w, r)
	if !ok || !c.needConversations(w, r) {
		return
	}
	id := r.PathValue("conversationId")
	err := c.Conversations.Close(r.Context(), cl.ID, id, c.author(r))
	if errors.Is(err, ErrConversationNotFound) {
		c.errorPage(w, r, http.StatusNotFound, "There is no such conversation.")
		return
	}
	if err != nil {
		c.fail(w, r, "console: close", err)
		return
	}
	http.Redirect(w, r, c.link("/clinics/"+cl.ID+"/inbox"), http.StatusSeeOther)
}

// countdown is the time left in the 24-hour window, as the front desk reads it.
func countdown(until, now time.Time) string {
	left := until.Sub(now)
	if until.IsZero() || left <= 0 {
		return "closed"
	}
	h, m := int(left.Hours()), int(left.Minutes())%60
	if h == 0 {
		return fmt.Sprintf("%d min left", max(m, 1))
	}
	return fmt.Sprintf("%d h %02d min left", h, m)
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
