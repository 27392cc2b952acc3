package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/messagelog"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// MessageStore is the message log: one record per wamid whose status only moves
// forward.
type MessageStore interface {
	PutMessage(ctx context.Context, m messagelog.Record) (bool, error)
	GetMessage(ctx context.Context, wamid string) (messagelog.Record, error)
	AdvanceMessage(ctx context.Context, wamid string, to messagelog.Status, at time.Time, errorCode int) (bool, error)
}

// Messages asserts the message log: recorded once per wamid, statuses moving
// forward only, unknown wamids fault.ErrNotFound.
func Messages[S MessageStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	open := func(t *testing.T) (MessageStore, *platform.FakeClock) {
		clock := platform.NewFakeClock(t0)
		return newStore(t, clock), clock
	}
	t.Run("messages", func(t *testing.T) { messages(t, open) })
}

func messages(t *testing.T, newStore func(*testing.T) (MessageStore, *platform.FakeClock)) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	m := messagelog.Record{WAMID: "wamid.M1", Direction: messagelog.Outbound, ClinicID: "clinic-a", PatientID: "pat-1",
		AppointmentID: "a1", ReminderKind: "pre2h", Type: "template", Status: messagelog.StatusAccepted}
	for i, want := range []bool{true, false} {
		created, err := s.PutMessage(ctx, m)
		if err != nil || created != want {
			t.Fatalf("put %d: created %v, %v; want %v", i, created, err, want)
		}
	}
	steps := []struct {
		to   messagelog.Status
		code int
		want bool
		now  messagelog.Status
	}{
		{messagelog.StatusDelivered, 0, true, messagelog.StatusDelivered},
		{messagelog.StatusSent, 0, false, messagelog.StatusDelivered}, // late sent
		{messagelog.StatusFailed, 131026, true, messagelog.StatusFailed},
		{messagelog.StatusRead, 0, false, messagelog.StatusFailed},
		{messagelog.StatusReceived, 0, false, messagelog.StatusFailed},
	}
	for _, st := range steps {
		ok, err := s.AdvanceMessage(ctx, m.WAMID, st.to, t0.Add(time.Minute), st.code)
		if err != nil || ok != st.want {
			t.Fatalf("advance to %s: %v, %v; want %v", st.to, ok, err, st.want)
		}
		got, err := s.GetMessage(ctx, m.WAMID)
		if err != nil || got.Status != st.now {
			t.Fatalf("after %s: %+v, %v", st.to, got, err)
		}
	}
	got, _ := s.GetMessage(ctx, m.WAMID)
	if got.ErrorCode != 131026 || got.AppointmentID != "a1" || !got.CreatedAt.Equal(t0) || !got.UpdatedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("record = %+v", got)
	}
	if _, err := s.GetMessage(ctx, "wamid.none"); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("missing message: %v", err)
	}
	if _, err := s.AdvanceMessage(ctx, "wamid.none", messagelog.StatusRead, t0, 0); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("advance of missing message: %v", err)
	}
}
