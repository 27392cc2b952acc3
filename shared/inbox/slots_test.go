package inbox

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/slot"
	"github.com/frontdesk-health/frontdesk/shared/waitlist"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsappspec"
)

// listReply is a patient's tap on a row of a list message.
func listReply(from, wamid, rowID, title string) []byte {
	return []byte(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"206555010001","changes":[{"field":"messages",
	"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550100000","phone_number_id":%q},
	"contacts":[{"profile":{"name":"Test Patient"},"wa_id":%q}],
	"messages":[{"from":%q,"id":%q,"timestamp":"1772463845","type":"interactive",
	"interactive":{"type":"list_reply","list_reply":{"id":%q,"title":%q}}}]}}]}]}`, phoneNumberID, from, from, wamid, rowID, title))
}

func withSlotDesk(w *world) {
	svc := &waitlist.Service{Store: w.store, Events: w.events, Now: w.clock.Now}
	w.svc.Slots = &waitlist.Desk{Service: svc,
		FreeSlots: func(ctx context.Context, clinicID string, from, to time.Time) ([]slot.Slot, error) {
			page, err := w.store.Slots(ctx, slot.Query{ClinicID: clinicID, From: from, To: to, FreeOnly: true, Limit: 100})
			return page.Slots, err
		},
		OfferExpiry: w.store.OfferExpiry,
		Members:     w.store,
	}
}

// A Reschedule tap with free slots published brings a list valid under Meta's
// spec; picking a row holds the slot, tells the clinic (with the slot and its
// start) and the patient, once however often the pick is delivered; another
// patient picking the same slot is told it was taken.
func TestRescheduleTapOffersFreeSlotsAndAPickHoldsOne(t *testing.T) {
	v := whatsappspec.RequireSpec(t)
	w := newWorld(t)
	withSlotDesk(w)
	ctx := context.Background()
	for i, in := range []time.Duration{26 * time.Hour, 30 * time.Hour} {
		s := slot.Slot{ClinicID: clinicID, ID: fmt.Sprintf("slot-%d", i), Start: msgTime.Add(in), Duration: 30 * time.Minute, Status: slot.Free, Version: 1}
		if err := w.store.SaveSlot(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if n := w.deliver(fixture(t, "button_reschedule_pt")); n != 0 {
		t.Fatalf("%d failures", n)
	}
	sent := w.sentMessages()
	last := sent[len(sent)-1]
	if last.Type != "interactive" || last.Interactive.Type != "list" {
		t.Fatalf("answer to Reschedule: %+v, want a list", last.Message)
	}
	b, _ := json.Marshal(last.Message)
	if err := v.ValidateMessage(b); err != nil {
		t.Fatalf("list not valid under Meta's spec: %v", err)
	}
	rows := last.Interactive.Action.Sections[0].Rows
	if len(rows) != 4 || rows[2].Title != "Avise se abrir antes" || rows[3].Title != "Nenhum destes" {
		t.Fatalf("rows %+v, want two slots, tell me of an earlier time and None of these (in Portuguese)", rows)
	}
	for _, e := range w.events.Events() {
		if e.Type == clinic.EventAppointmentRescheduleRequested {
			t.Fatalf("the clinic heard of the request before the patient chose: %+v", e)
		}
	}

	pick := listReply("15550100103", "wamid.PICKPT", rows[0].ID, rows[0].Title)
	for range 2 {
		if n := w.deliver(pick); n != 0 {
			t.Fatalf("%d failures", n)
		}
	}
	var reqs []clinic.Event
	for _, e := range w.events.Events() {
		if e.Type == clinic.EventAppointmentRescheduleRequested {
			reqs = append(reqs, e)
		}
	}
	if len(reqs) == 0 || reqs[0].Field("slotId") != "slot-0" || reqs[0].Field("appointmentId") != "appt-pt" || reqs[0].Field("reason") != "reschedule" {
		t.Fatalf("requests %+v", reqs)
	}
	for _, e := range reqs[1:] {
		if e.ID != reqs[0].ID {
			t.Fatalf("a second request with another id: %+v", e)
		}
	}
	after := w.sentMessages()
	if len(after) != len(sent)+1 || after[len(after)-1].Type != "text" || !strings.Contains(after[len(after)-1].Text.Body, "Reservamos") {
		t.Fatalf("answers to the pick (delivered twice): %+v", after[len(sent):])
	}
	h, ok, err := w.store.GetHold(ctx, clinicID, "slot-0")
	if err != nil || !ok || h.AppointmentID != "appt-pt" {
		t.Fatalf("hold %+v %v %v", h, ok, err)
	}

	// Another patient's pick of the same slot (a row of their own list).
	other := reminder.ButtonPayload{Action: reminder.ActionPickSlot, ClinicID: clinicID, AppointmentID: "appt-en", Generation: "slot-0"}.Encode()
	if n := w.deliver(listReply("15550100101", "wamid.PICKEN", other, "Tuesday")); n != 0 {
		t.Fatalf("%d failures", n)
	}
	final := w.sentMessages()
	if got := final[len(final)-1]; got.Type != "text" || !strings.Contains(got.Text.Body, "just taken") {
		t.Fatalf("second patient's answer %+v, want the time was taken", got.Message)
	}
	if h2, _, _ := w.store.GetHold(ctx, clinicID, "slot-0"); h2.AppointmentID != "appt-pt" {
		t.Fatalf("the hold moved to %s", h2.AppointmentID)
	}
}

// Without published slots, a Reschedule tap is today's plain request.
func TestRescheduleTapWithoutSlotsIsAPlainRequest(t *testing.T) {
	w := newWorld(t)
	withSlotDesk(w)
	if n := w.deliver(fixture(t, "button_reschedule_pt")); n != 0 {
		t.Fatalf("%d failures", n)
	}
	sent := w.sentMessages()
	if last := sent[len(sent)-1]; last.Type != "text" {
		t.Fatalf("answer %+v, want the plain acknowledgement", last.Message)
	}
	found := false
	for _, e := range w.events.Events() {
		found = found || e.Type == clinic.EventAppointmentRescheduleRequested && e.Field("slotId") == nil
	}
	if !found {
		t.Fatal("the clinic did not get the plain reschedule request")
	}
}

// "earlier" (in the patient's language, any case or accents) puts the patient's
// next visit on the waitlist and "no earlier" takes it off, each answered once in
// the patient's language however often the message is delivered; the first join
// time (the patient's place) is kept. An opted-out number gets no answer.
func TestWaitlistKeywordsJoinAndLeave(t *testing.T) {
	w := newWorld(t)
	withSlotDesk(w)
	ctx := context.Background()
	waiting := func(apptID string) (slot.Entry, bool) {
		t.Helper()
		list, err := w.store.ClinicWaitlist(ctx, clinicID)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range list.Entries {
			if e.AppointmentID == apptID {
				return e, true
			}
		}
		return slot.Entry{}, false
	}
	for _, tc := range []struct {
		waID, appt, join, leave, joined, left string
	}{
		{"15550100101", "appt-en", "Earlier please", "no earlier", "we will let you know", "will not offer earlier times"},
		{"15550100102", "appt-es", "MAS TEMPRANO", "No más temprano", "le avisaremos", "no le ofreceremos"},
		{"15550100103", "appt-pt", "mais cedo", "Não mais cedo", "avisaremos você", "não ofereceremos"},
	} {
		t.Run(tc.appt, func(t *testing.T) {
			before := len(w.sentMessages())
			join := w.message(tc.waID, textMsg(tc.join))
			for range 2 {
				if n := w.deliver(join); n != 0 {
					t.Fatalf("%d failures", n)
				}
			}
			e, ok := waiting(tc.appt)
			if !ok {
				t.Fatalf("%q did not put %s on the waitlist", tc.join, tc.appt)
			}
			sent := w.sentMessages()
			if len(sent) != before+1 || sent[len(sent)-1].Type != "text" || !strings.Contains(sent[len(sent)-1].Text.Body, tc.joined) {
				t.Fatalf("answers to %q delivered twice: %+v", tc.join, sent[before:])
			}
			w.clock.Advance(time.Minute)
			if n := w.deliver(w.message(tc.waID, textMsg(tc.join))); n != 0 {
				t.Fatalf("%d failures", n)
			}
			if again, _ := waiting(tc.appt); !again.JoinedAt.Equal(e.JoinedAt) {
				t.Errorf("joining again moved the place from %v to %v", e.JoinedAt, again.JoinedAt)
			}
			before = len(w.sentMessages())
			if n := w.deliver(w.message(tc.waID, textMsg(tc.leave))); n != 0 {
				t.Fatalf("%d failures", n)
			}
			if _, ok := waiting(tc.appt); ok {
				t.Fatalf("%q left %s on the waitlist", tc.leave, tc.appt)
			}
			sent = w.sentMessages()
			if len(sent) != before+1 || !strings.Contains(sent[len(sent)-1].Text.Body, tc.left) {
				t.Fatalf("answers to %q: %+v", tc.leave, sent[before:])
			}
		})
	}
	t.Run("opted out", func(t *testing.T) {
		if n := w.deliver(w.message("15550100101", textMsg("STOP"))); n != 0 {
			t.Fatalf("%d failures", n)
		}
		before := len(w.sentMessages())
		if n := w.deliver(w.message("15550100101", textMsg("earlier"))); n != 0 {
			t.Fatalf("%d failures", n)
		}
		if sent := w.sentMessages(); len(sent) != before {
			t.Errorf("an opted-out number was answered: %+v", sent[before:])
		}
	})
}

// The reschedule list's "tell me if an earlier time opens" row keeps the visit's
// time and puts it on the waitlist, answered once in the patient's language.
func TestRescheduleListEarlierRowJoinsTheWaitlist(t *testing.T) {
	w := newWorld(t)
	withSlotDesk(w)
	ctx := context.Background()
	s := slot.Slot{ClinicID: clinicID, ID: "slot-e", Start: msgTime.Add(26 * time.Hour), Duration: 30 * time.Minute, Status: slot.Free, Version: 1}
	if err := w.store.SaveSlot(ctx, s); err != nil {
		t.Fatal(err)
	}
	if n := w.deliver(fixture(t, "button_reschedule_pt")); n != 0 {
		t.Fatalf("%d failures", n)
	}
	sent := w.sentMessages()
	rows := sent[len(sent)-1].Interactive.Action.Sections[0].Rows
	tap := listReply("15550100103", "wamid.EARLIERPT", rows[1].ID, rows[1].Title)
	for range 2 {
		if n := w.deliver(tap); n != 0 {
			t.Fatalf("%d failures", n)
		}
	}
	list, err := w.store.ClinicWaitlist(ctx, clinicID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Entries) != 1 || list.Entries[0].AppointmentID != "appt-pt" {
		t.Fatalf("waitlist %+v, want appt-pt on it", list.Entries)
	}
	after := w.sentMessages()
	if len(after) != len(sent)+1 || after[len(after)-1].Type != "text" || !strings.Contains(after[len(after)-1].Text.Body, "avisaremos você") {
		t.Fatalf("answers to the tap (delivered twice): %+v", after[len(sent):])
	}
	if _, ok, _ := w.store.GetHold(ctx, clinicID, "slot-e"); ok {
		t.Error("the earlier row held a slot")
	}
}
