package whatsapptest

import (
	"github.com/frontdesk-health/frontdesk/shared/platform"

	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// reserve counts a status sequence as pending before the send is answered, so a
// Flush right after the answer already waits for it; push then hands it to the workers.
func (s *Stub) reserve() bool {
	if s.cfg.WebhookURL == "" {
		return false
	}
	s.mu.Lock()
	s.pending++
	s.mu.Unlock()
	return true
}

func (s *Stub) push(cb callback) {
	select {
	case <-s.stop: // the buffered queue could still accept, but nobody would drain it
		s.done()
		return
	default:
	}
	select {
	case s.queue <- cb:
	case <-s.stop:
		s.done()
	}
}

func (s *Stub) done() {
	s.mu.Lock()
	if s.pending > 0 {
		s.pending--
	}
	if s.pending == 0 {
		s.releaseWaitersLocked()
	}
	s.mu.Unlock()
}

func (s *Stub) releaseWaitersLocked() {
	for _, ch := range s.waiters {
		close(ch)
	}
	s.waiters = nil
}

func (s *Stub) worker() {
	defer s.wg.Done()
	for {
		select {
		case <-s.stop:
			return
		case cb := <-s.queue:
			s.deliver(cb)
			s.done()
		}
	}
}

// deliver posts sent, delivered and read in order, as separate webhooks like Meta.
// A status that cannot be posted ends the sequence: Meta would not report "read"
// to a receiver that never acknowledged "sent" either.
func (s *Stub) deliver(cb callback) {
	for _, status := range []string{whatsapp.StatusSent, whatsapp.StatusDelivered, whatsapp.StatusRead} {
		body, err := json.Marshal(s.statusNotification(cb, status))
		if err != nil {
			s.log.Error("whatsapptest: encode status webhook", platform.WAMID("wamid", cb.wamid), "err", err)
			return
		}
		if err := s.post(body); err != nil {
			s.mu.Lock()
			s.stats.WebhooksFailed++
			s.mu.Unlock()
			s.log.Warn("whatsapptest: status webhook not delivered", platform.WAMID("wamid", cb.wamid), "status", status, "err", err)
			return
		}
		s.mu.Lock()
		s.stats.WebhooksDelivered++
		s.mu.Unlock()
	}
}

// StatusNotification builds the webhook Meta posts for a status change of wamid.
// Exported so tests elsewhere can make real-shaped status payloads.
func StatusNotification(wabaID, displayPhoneNumber, phoneNumberID, wamid, recipientID, status, category string, at time.Time) whatsapp.Notification {
	st := whatsapp.Status{
		ID: wamid, RecipientID: recipientID, Status: status,
		Timestamp: whatsapp.Timestamp(strconv.FormatInt(at.Unix(), 10)),
	}
	if status != whatsapp.StatusRead {
		// Meta attaches conversation and pricing to sent and delivered, not to read.
		st.Conversation = &whatsapp.Conversation{
			ID:                  conversationID(wamid),
			ExpirationTimestamp: whatsapp.Timestamp(strconv.FormatInt(at.Add(24*time.Hour).Unix(), 10)),
			Origin:              whatsapp.ConversationOrigin{Type: category},
		}
		pricingType := "regular"
		if category == "service" {
			pricingType = "free_customer_service"
		}
		st.Pricing = &whatsapp.Pricing{Billable: category != "service", PricingModel: "PMP", Category: category, Type: pricingType}
	}
	return whatsapp.Notification{
		Object: whatsapp.ObjectWhatsAppBusinessAccount,
		Entry: []whatsapp.Entry{{
			ID: wabaID,
			Changes: []whatsapp.Change{{
				Field: whatsapp.FieldMessages,
				Value: whatsapp.Value{
					MessagingProduct: "whatsapp",
					Metadata:         whatsapp.Metadata{DisplayPhoneNumber: displayPhoneNumber, PhoneNumberID: phoneNumberID},
					Statuses:         []whatsapp.Status{st},
				},
			}},
		}},
	}
}

func (s *Stub) statusNotification(cb callback, status string) whatsapp.Notification {
	n := StatusNotification(s.cfg.WABAID, s.cfg.DisplayPhoneNumber, cb.phoneNumberID, cb.wamid, cb.recipient, status, cb.category, s.cfg.Clock.Now())
	// A send by BSUID comes back with recipient_user_id and no number.
	n.Entry[0].Changes[0].Value.Statuses[0].RecipientUserID = cb.userID
	return n
}

// post delivers one signed webhook, retrying a few times like Meta (briefly: this is
// a dev tool, not a 7-day retry queue).
func (s *Stub) post(body []byte) error {
	var last error
	for attempt := range defaultCallbackAttempts {
		if attempt > 0 {
			t := time.NewTimer(time.Duration(attempt) * 200 * time.Millisecond)
			select {
			case <-s.stop:
				t.Stop()
				return fmt.Errorf("stopped: %w", last)
			case <-t.C:
			}
		}
		if last = s.postOnce(body); last == nil {
			return nil
		}
	}
	return last
}

func (s *Stub) postOnce(body []byte) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(whatsapp.SignatureHeader, whatsapp.Sign([]byte(s.cfg.AppSecret), body))
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook answered HTTP %d", resp.StatusCode)
	}
	return nil
}

func conversationID(wamid string) string {
	sum := sha256.Sum256([]byte("conversation:" + wamid))
	return hex.EncodeToString(sum[:16])
}
