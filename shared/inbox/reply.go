package inbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/handoff"
	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// reply sends the one answer an inbound message gets. force skips the opt-out
// silence (the STOP acknowledgement itself, START, the emergency safety text).
//
// The reply goes out as a reply job through the sender's prepared-send code, in
// this process: the patient is waiting for it (see the package documentation).
func (s *Service) reply(ctx context.Context, in *inbound, patientID string, kind replyKind, a *appointment.Appointment, force bool) error {
	if !force {
		silent, err := s.isSilenced(ctx, in)
		if err != nil {
			return err
		}
		if silent {
			s.log().Info("inbound reply suppressed: opted out", "clinic_id", in.c.ID, platform.WAMID("wamid", in.m.ID))
			return nil
		}
	}
	lang := in.lang(patientID)
	var msg whatsapp.Message
	var err error
	if in.inWindow(s.now()) {
		var body string
		body, err = replyText(kind, lang, in.c, a, s.now())
		switch {
		case in.prebuilt != nil:
			msg, err = in.prebuilt.InReplyTo(in.m.ID), nil
		case err == nil && kind == replyMoved && a != nil:
			var buttons []whatsapp.ReplyButton
			if buttons, err = answerButtons(lang, in.c, *a); err == nil {
				msg, err = whatsapp.ReplyButtonsMessage(in.phone, body, buttons)
				msg = msg.InReplyTo(in.m.ID)
			}
		case err == nil:
			msg, err = whatsapp.TextMessage(in.phone, body)
			msg = msg.InReplyTo(in.m.ID)
		}
	} else {
		// A redelivered old message: the window has closed since the patient wrote,
		// and only a template may be sent. It invites the patient to write again.
		msg, err = reopenTemplate(in.phone, lang, in.c, kind, a)
	}
	if err != nil {
		// A bug in the replies or an unusable number: retrying cannot fix it.
		s.log().Error("inbound reply not built", "clinic_id", in.c.ID, platform.WAMID("wamid", in.m.ID), "reply", string(kind), "error", err.Error())
		return nil
	}
	// One outbound job for every message: the reply is a reply job, sent now
	// through the sender's code, which claims "reply:<wamid>" so a redelivered or
	// retried message never answers twice.
	job := outbound.Job{Type: outbound.KindReply, Job: reminder.Job{ClinicID: in.c.ID}, ContactKey: in.contactKey,
		PatientID: patientID, Key: "reply:" + in.m.ID, Message: &msg, WindowEndsAt: in.windowEndsAt(), Force: force}
	if job.ContactKey == "" {
		job.ContactKey = in.phone
	}
	if a != nil {
		job.AppointmentID = a.ID
	}
	// Before the message log: Meta's statuses wait for the log's record, and then
	// find the conversation's copy too.
	onSent := func(ctx context.Context, wamid string) { s.recordBotReply(ctx, in, msg, wamid) }
	wamid, err := s.Replies.SendNow(ctx, in.c, job, onSent)
	if err != nil {
		// The batch item fails and comes back; the state change is already done and
		// will be found done, the reply will be sent then.
		s.log().Warn("inbound reply failed, will retry", "clinic_id", in.c.ID, platform.WAMID("wamid", in.m.ID), "reply", string(kind), "error", err.Error())
		return fmt.Errorf("send reply: %w", err)
	}
	if wamid == "" {
		s.log().Info("inbound reply not sent here", "clinic_id", in.c.ID, platform.WAMID("wamid", in.m.ID), "reply", string(kind))
		return nil
	}
	s.log().Info("inbound reply sent", "clinic_id", in.c.ID, platform.WAMID("wamid", in.m.ID), platform.WAMID("reply_wamid", wamid), "reply", string(kind), "type", msg.Type)
	return nil
}

// isSilenced reports whether the number is opted out: its own STOP stands (an
// unknown sender) or every patient on it is opted out, their ledgers merged with
// the number's STOP / START. Then the bot says nothing more until START.
func (s *Service) isSilenced(ctx context.Context, in *inbound) (bool, error) {
	if in.silenced != nil {
		return *in.silenced, nil
	}
	var number []consent.Entry
	if in.contactKey != "" {
		c, err := s.Store.GetContact(ctx, in.c.ID, in.contactKey)
		if err != nil {
			return false, fmt.Errorf("get contact: %w", err)
		}
		number = c.Statements()
	}
	silent := consent.Current(number) == consent.OptedOut
	if len(in.patients) > 0 {
		silent = true
	}
	for _, p := range in.patients {
		ledger, err := s.Store.ConsentLedger(ctx, in.c.ID, p.ID)
		if err != nil {
			return false, fmt.Errorf("consent ledger: %w", err)
		}
		if consent.Current(append(ledger, number...)) != consent.OptedOut {
			silent = false
			break
		}
	}
	in.silenced = &silent
	return silent, nil
}

// inWindow reports whether free-form messages may be sent: the patient wrote less
// than 24 hours ago (this message, or a later one already stored).
func (in *inbound) inWindow(now time.Time) bool { return now.Before(in.windowEndsAt()) }

// windowEndsAt is when the 24-hour window the patient's latest message opened closes.
func (in *inbound) windowEndsAt() time.Time {
	last := in.at
	for _, p := range in.patients {
		if p.LastInboundAt.After(last) {
			last = p.LastInboundAt
		}
	}
	return last.Add(appointment.ServiceWindow)
}

// derivedID is a stable identifier for something caused by one message (an event,
// a consent entry): the same inputs always give the same ID.
func derivedID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		// Length prefixes keep ("a","bc") and ("ab","c") apart.
		fmt.Fprintf(h, "%d:%s|", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// recordBotReply adds the answer to the contact's conversation, if it has one, so
// staff see what the patient was told. The answer went out: a failure is logged.
func (s *Service) recordBotReply(ctx context.Context, in *inbound, msg whatsapp.Message, wamid string) {
	if s.Conversations == nil || in.contactKey == "" {
		return
	}
	m := handoff.BotMessage(msg, wamid, s.now())
	if err := s.Conversations.BotSaid(ctx, in.c, in.contactKey, m); err != nil {
		s.log().Error("inbound reply not added to the conversation", "clinic_id", in.c.ID, platform.WAMID("wamid", in.m.ID), "error", err.Error())
	}
}
