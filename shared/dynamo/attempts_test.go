package dynamo_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/storetest"
)

// Reminders queued or sending before the index existed have no index attributes;
// the backfill adds them, once.
func TestBackfillAttemptIndex(t *testing.T) {
	client, names := localtest.Dynamo(t)
	clock := platform.NewFakeClock(t0)
	s := dynamo.NewStore(client, names, clock, shards)
	ctx := ctxT(t)
	states := map[string]reminder.State{
		"q": reminder.StateQueued, "s": reminder.StateSending, "d": reminder.StateScheduled, "x": reminder.StateSent,
	}
	for id, st := range states {
		a := appt(id, t0.Add(30*time.Hour))
		r := rem(a, reminder.KindDayBefore, t0, reminder.StateScheduled)
		saveNew(t, s, a, r)
		if st == reminder.StateScheduled {
			continue
		}
		if err := s.MarkQueued(ctx, r); err != nil {
			t.Fatal(err)
		}
		if st != reminder.StateQueued {
			if err := s.ClaimSend(ctx, r, t0.Add(2*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		if st == reminder.StateSent {
			if _, err := s.AdvanceReminder(ctx, a.ClinicID, a.ID, r.Kind, st, reminder.Update{WAMID: "wamid.Y"}); err != nil {
				t.Fatal(err)
			}
		}
		// What the code before the index left behind: no index attributes.
		if _, err := client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(names.Appointments),
			Key: map[string]types.AttributeValue{
				dynamo.AttrPK: &types.AttributeValueMemberS{Value: "APPT#" + a.ClinicID + "#" + a.ID},
				dynamo.AttrSK: &types.AttributeValueMemberS{Value: "R#" + string(r.Kind)},
			},
			UpdateExpression:    aws.String("REMOVE attemptShard, nextAttemptAt"),
			ConditionExpression: aws.String("attribute_exists(pk)"),
		}); err != nil {
			t.Fatalf("strip index attributes of %s: %v", id, err)
		}
	}
	if n := len(storetest.AllStalled(t, s, t0.Add(time.Hour))); n != 0 {
		t.Fatalf("%d listed before the backfill, want 0", n)
	}
	n, err := s.BackfillAttemptIndex(ctx)
	if err != nil || n != 2 {
		t.Fatalf("backfill: %d, %v; want the queued and the sending reminder", n, err)
	}
	stalled := storetest.AllStalled(t, s, t0.Add(2*time.Minute))
	got := map[string]time.Time{}
	for _, r := range stalled {
		got[r.AppointmentID] = r.NextAttemptAt
	}
	if len(got) != 2 || !got["q"].Equal(t0) || !got["s"].Equal(t0.Add(2*time.Minute)) {
		t.Errorf("after backfill: %v; want q at once and s when its lease ends", got)
	}
	if n, err := s.BackfillAttemptIndex(ctx); err != nil || n != 0 {
		t.Errorf("second backfill: %d, %v; want none", n, err)
	}
}
