package dynamo_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/staff"
)

func ids(as []dynamo.ScheduledAppointment) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Appointment.ID)
	}
	return out
}

func TestAppointmentsBetween(t *testing.T) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	ny, _ := time.LoadLocation("America/New_York")
	// 2026-03-03 in New York is 05:00Z on the 3rd to 05:00Z on the 4th: two UTC dates.
	dayStart := time.Date(2026, 3, 3, 0, 0, 0, 0, ny)
	dayEnd := dayStart.AddDate(0, 0, 1)
	early := appt("early", dayStart.Add(8*time.Hour))  // 13:00Z on the 3rd
	late := appt("late", dayStart.Add(22*time.Hour))   // 03:00Z on the 4th, still the 3rd locally
	before := appt("before", dayStart.Add(-time.Hour)) // the 2nd locally
	after := appt("after", dayEnd)                     // the 4th locally
	other := appt("other", dayStart.Add(9*time.Hour))
	other.ClinicID = "clinic-b"
	r := rem(early, reminder.KindDayBefore, early.Start.Add(-48*time.Hour), reminder.StateScheduled)
	for _, a := range []appointment.Appointment{late, before, after, other} {
		saveNew(t, s, a)
	}
	saveNew(t, s, early, r)

	got, err := s.AppointmentsBetween(ctx, "clinic-a", dayStart, dayEnd)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"early", "late"}; !slices.Equal(ids(got), want) {
		t.Fatalf("AppointmentsBetween = %q, want %q", ids(got), want)
	}
	if len(got[0].Reminders) != 1 || got[0].Reminders[0].Kind != reminder.KindDayBefore {
		t.Fatalf("reminders of early = %+v", got[0].Reminders)
	}

	// Moved to the next day: it leaves this day's list and joins the next.
	moved, _, err := s.GetAppointment(ctx, "clinic-a", "early")
	if err != nil {
		t.Fatal(err)
	}
	moved.Start = dayEnd.Add(10 * time.Hour)
	if err := s.SaveAppointment(ctx, moved, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.AppointmentsBetween(ctx, "clinic-a", dayStart, dayEnd); !slices.Equal(ids(got), []string{"late"}) {
		t.Fatalf("after the move, the day lists %q, want [late]", ids(got))
	}
	if got, _ = s.AppointmentsBetween(ctx, "clinic-a", dayEnd, dayEnd.AddDate(0, 0, 1)); !slices.Equal(ids(got), []string{"after", "early"}) {
		t.Fatalf("after the move, the next day lists %q, want [after early]", ids(got))
	}
	for _, bad := range [][2]time.Time{{dayEnd, dayStart}, {dayStart, dayStart.Add(dynamo.MaxDayRange + time.Hour)}} {
		if _, err := s.AppointmentsBetween(ctx, "clinic-a", bad[0], bad[1]); err == nil {
			t.Fatalf("range %v..%v accepted", bad[0], bad[1])
		}
	}
}

func TestBackfillDayIndex(t *testing.T) {
	client, names := localtest.Dynamo(t)
	s := dynamo.NewStore(client, names, platform.NewFakeClock(t0), shards)
	ctx := ctxT(t)
	a := appt("legacy", t0.Add(26*time.Hour))
	saveNew(t, s, a)
	// An appointment stored before the index existed has no entry: delete it to get there.
	deleteDayEntries(t, ctx, client, names.Appointments)
	if got, _ := s.AppointmentsBetween(ctx, "clinic-a", t0, t0.Add(48*time.Hour)); len(got) != 0 {
		t.Fatalf("without entries the day lists %q", ids(got))
	}
	for run := range 2 { // idempotent
		n, err := s.BackfillDayIndex(ctx)
		if err != nil || n != 1 {
			t.Fatalf("run %d: BackfillDayIndex = %d, %v; want 1", run, n, err)
		}
	}
	got, err := s.AppointmentsBetween(ctx, "clinic-a", t0, t0.Add(48*time.Hour))
	if err != nil || !slices.Equal(ids(got), []string{"legacy"}) {
		t.Fatalf("after the backfill the day lists %q, %v", ids(got), err)
	}
}

func deleteDayEntries(t *testing.T, ctx context.Context, client *dynamodb.Client, table string) {
	t.Helper()
	out, err := client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range out.Items {
		pk := it["pk"].(*types.AttributeValueMemberS).Value
		if len(pk) > 4 && pk[:4] == "DAY#" {
			if _, err := client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table),
				Key: map[string]types.AttributeValue{"pk": it["pk"], "sk": it["sk"]}}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestStaffSessions(t *testing.T) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	ss := staff.Session{Subject: "sub-1", Name: "Alex Example", Clinics: []string{"clinic-a"}, CSRF: "tok",
		SignedIn: t0, LastSeen: t0.Add(time.Minute)}
	if err := s.PutStaffSession(ctx, "digest-1", ss); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetStaffSession(ctx, "digest-1")
	if err != nil || got.Subject != ss.Subject || got.Name != ss.Name || !slices.Equal(got.Clinics, ss.Clinics) ||
		got.CSRF != "tok" || !got.SignedIn.Equal(t0) || !got.LastSeen.Equal(ss.LastSeen) {
		t.Fatalf("GetStaffSession = %+v, %v", got, err)
	}
	ss.LastSeen = t0.Add(20 * time.Minute)
	if err := s.RefreshStaffSession(ctx, "digest-1", ss); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetStaffSession(ctx, "digest-1"); !got.LastSeen.Equal(ss.LastSeen) || got.CSRF != "tok" {
		t.Fatalf("after refresh: %+v", got)
	}
	if err := s.DeleteStaffSession(ctx, "digest-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.RefreshStaffSession(ctx, "digest-1", ss); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("refresh after sign-out: %v, want ErrNotFound (a racing request must not revive it)", err)
	}
	if _, err := s.GetStaffSession(ctx, "digest-1"); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("refresh after sign-out created %v", err)
	}
	if _, err := s.GetStaffSession(ctx, "digest-1"); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("after delete: %v, want ErrNotFound", err)
	}
	if err := s.DeleteStaffSession(ctx, "digest-1"); err != nil {
		t.Fatalf("second delete: %v", err)
	}

	l := staff.Login{Verifier: "ver", Nonce: "non", ReturnTo: "/console/", StartedAt: t0}
	if err := s.PutStaffLogin(ctx, "state-1", l); err != nil {
		t.Fatal(err)
	}
	if err := s.PutStaffLogin(ctx, "state-1", l); err == nil {
		t.Fatal("a state value reused must not overwrite the login in flight")
	}
	got2, err := s.TakeStaffLogin(ctx, "state-1")
	if err != nil || got2 != l {
		t.Fatalf("TakeStaffLogin = %+v, %v", got2, err)
	}
	if _, err := s.TakeStaffLogin(ctx, "state-1"); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("second take: %v, want ErrNotFound (a code is redeemed once)", err)
	}
}
