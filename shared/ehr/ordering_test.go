package ehr_test

import (
	"errors"
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
)

func TestOrderAgainstKeepsTheStoredKey(t *testing.T) {
	const ms = 1_764_000_000_000 // a lastUpdated in Unix milliseconds (Nov 2025)
	both := ehr.Orderings{VersionID: 4, LastUpdated: ms}
	cases := []struct {
		name      string
		stored    appointment.Appointment
		offered   ehr.Orderings
		wantKey   string
		wantValue int64
		wantErr   bool
	}{
		{"versionId key, both offered", appointment.Appointment{OrderingKey: ehr.OrderVersionID, Version: 3}, both, ehr.OrderVersionID, 4, false},
		{"lastUpdated key, both offered", appointment.Appointment{OrderingKey: ehr.OrderLastUpdated, Version: ms - 1}, both, ehr.OrderLastUpdated, ms, false},
		{"versionId key, only lastUpdated", appointment.Appointment{OrderingKey: ehr.OrderVersionID, Version: 3}, ehr.Orderings{LastUpdated: ms}, "", 0, true},
		{"lastUpdated key, only versionId", appointment.Appointment{OrderingKey: ehr.OrderLastUpdated, Version: ms}, ehr.Orderings{VersionID: 9}, "", 0, true},
		{"legacy counter: versionId", appointment.Appointment{Version: 7}, both, ehr.OrderVersionID, 4, false},
		{"legacy timestamp: lastUpdated", appointment.Appointment{Version: ms - 5}, both, ehr.OrderLastUpdated, ms, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev := ehr.Event{Appointment: appointment.Appointment{ID: "a1"}, Orderings: tc.offered}
			got, err := ev.OrderAgainst(tc.stored)
			if tc.wantErr {
				if !errors.Is(err, ehr.ErrOrderingKeyChanged) {
					t.Fatalf("err %v, want ErrOrderingKeyChanged", err)
				}
				return
			}
			if err != nil || got.Appointment.OrderingKey != tc.wantKey || got.Appointment.Version != tc.wantValue {
				t.Fatalf("got %s/%d (%v), want %s/%d", got.Appointment.OrderingKey, got.Appointment.Version, err, tc.wantKey, tc.wantValue)
			}
		})
	}
	native := ehr.Event{Appointment: appointment.Appointment{Version: 2}}
	if got, err := native.OrderAgainst(appointment.Appointment{OrderingKey: ehr.OrderVersionID}); err != nil || got.Appointment.Version != 2 {
		t.Fatalf("a native event is not re-keyed: %+v %v", got.Appointment, err)
	}
}
