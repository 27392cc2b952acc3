package inbox

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/messagelog"
	"github.com/frontdesk-health/frontdesk/shared/notice"
	"github.com/frontdesk-health/frontdesk/shared/notices"
)

// Meta's statuses for a notice's message move the notice, found through the
// message log record's notice id: delivered, read, never back; a failed message
// fails its notice and reaches the clinic once as message.failed with the notice id.
func TestNoticeStatusesMoveTheNotice(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.svc.Notices = &notices.Tracker{Store: w.store, Events: w.events, Clock: w.clock}
	seedNotice := func(id, patientID, wamid string) {
		t.Helper()
		n := notice.Notice{ClinicID: clinicID, ID: id, PatientID: patientID, Kind: notice.KindLabReady, Source: notice.SourceAPI,
			State: notice.StateSent, CreatedAt: msgTime.Add(-time.Hour), UpdatedAt: msgTime.Add(-time.Hour)}
		if _, _, err := w.store.CreateNotice(ctx, n); err != nil {
			t.Fatal(err)
		}
		if _, err := w.store.PutMessage(ctx, messagelog.Record{WAMID: wamid, Direction: messagelog.Outbound, ClinicID: clinicID,
			PatientID: patientID, NoticeID: id, Type: "template", Status: messagelog.StatusAccepted, CreatedAt: msgTime.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	const read, failed = "ntc_000000000000000000000001", "ntc_000000000000000000000002"
	seedNotice(read, "pat-en", "wamid.NOTICEEN")
	seedNotice(failed, "pat-es", "wamid.NOTICEES")
	status := func(fixtureName, from, to string) []byte {
		return bytes.ReplaceAll(fixture(t, fixtureName), []byte(`"`+from+`"`), []byte(`"`+to+`"`))
	}
	steps := []struct {
		body []byte
		id   string
		want notice.State
	}{
		{status("status_delivered_late", "wamid.REMINDER48HEN", "wamid.NOTICEEN"), read, notice.StateDelivered},
		{status("status_read", "wamid.REMINDER48HEN", "wamid.NOTICEEN"), read, notice.StateRead},
		{status("status_delivered_late", "wamid.REMINDER48HEN", "wamid.NOTICEEN"), read, notice.StateRead},
		{status("status_failed", "wamid.REMINDER2HES", "wamid.NOTICEES"), failed, notice.StateFailed},
	}
	for i, s := range steps {
		for range 2 { // each webhook delivered twice
			if n := w.deliver(s.body); n != 0 {
				t.Fatalf("step %d: %d failures\n%s", i, n, w.logs.String())
			}
		}
		n, err := w.store.GetNotice(ctx, clinicID, map[string]string{read: "pat-en", failed: "pat-es"}[s.id], s.id)
		if err != nil || n.State != s.want {
			t.Fatalf("step %d: notice %+v, %v; want %s", i, n, err, s.want)
		}
	}
	evs := w.events.Events()
	if len(evs) != 1 || evs[0].Type != clinic.EventMessageFailed || evs[0].Field("noticeId") != failed {
		t.Fatalf("events %+v, want one message.failed with the failed notice's id", evs)
	}
}
