package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// A reminder queued by the code before the index (no index attributes) is added by
// the command, found by the reaper's query, and a second run adds nothing.
func TestBackfillAddsQueuedRemindersOnce(t *testing.T) {
	client, names := localtest.Dynamo(t)
	prefix := strings.TrimSuffix(names.Appointments, dynamo.TableAppointments)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const shards = 8
	st := dynamo.NewStore(client, names, platform.SystemClock{}, shards)
	start := time.Now().UTC().Add(30 * time.Hour).Truncate(time.Minute)
	a := appointment.Appointment{ClinicID: "clinic-b", ID: "appt-old", Status: appointment.StatusBooked, Start: start,
		Duration: 30 * time.Minute, PatientID: "pat-1", Version: 1}
	r := reminder.Reminder{ClinicID: a.ClinicID, AppointmentID: a.ID, Kind: reminder.KindDayBefore, DueAt: start.Add(-48 * time.Hour),
		NotAfter: start.Add(-2 * time.Hour), State: reminder.StateScheduled, Generation: reminder.Generation(start)}
	if err := st.SaveAppointment(ctx, a, []reminder.Write{{Reminder: r}}); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkQueued(ctx, r); err != nil {
		t.Fatal(err)
	}
	// What the previous release left: queued, but not in the index.
	if _, err := client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(names.Appointments),
		Key: map[string]types.AttributeValue{
			dynamo.AttrPK: &types.AttributeValueMemberS{Value: "APPT#" + a.ClinicID + "#" + a.ID},
			dynamo.AttrSK: &types.AttributeValueMemberS{Value: "R#" + string(r.Kind)},
		},
		UpdateExpression:    aws.String("REMOVE " + dynamo.AttrAttemptShard + ", " + dynamo.AttrNextAttemptAt),
		ConditionExpression: aws.String("attribute_exists(pk)"),
	}); err != nil {
		t.Fatal(err)
	}
	stalled := func() int {
		n := 0
		for shard := range shards {
			rs, _, err := st.StalledReminders(ctx, shard, time.Now().Add(time.Minute), 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			n += len(rs)
		}
		return n
	}
	if n := stalled(); n != 0 {
		t.Fatalf("%d listed before the backfill", n)
	}
	env := map[string]string{
		platform.EnvTablePrefix: prefix, platform.EnvSweepShards: "8",
		platform.EnvDynamoEndpoint: os.Getenv(platform.EnvDynamoEndpoint),
	}
	getenv := func(k string) string { return env[k] }
	for i, want := range []string{"added 1 ", "added 0 "} {
		var out bytes.Buffer
		if err := run(ctx, getenv, &out); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("run %d printed %q, want %q", i+1, out.String(), want)
		}
	}
	if n := stalled(); n != 1 {
		t.Errorf("%d listed after the backfill, want 1", n)
	}
	if err := run(ctx, func(string) string { return "" }, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), platform.EnvTablePrefix) {
		t.Errorf("without %s: %v, want an error naming it", platform.EnvTablePrefix, err)
	}
}
