package dynamo_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/slot"
)

func newSlot(clinicID, id string, start time.Time, status slot.Status) slot.Slot {
	return slot.Slot{ClinicID: clinicID, ID: id, Start: start, Duration: 30 * time.Minute, Status: status,
		Location: "Main St", Practitioner: "Dr Example", VisitType: "FOLLOWUP", Version: 1}
}

// The TTL attribute is the slot's start plus SlotRetention, in epoch seconds.
func TestSlotExpiresAfterItsStart(t *testing.T) {
	client, names := localtest.Dynamo(t)
	s := dynamo.NewStore(client, names, platform.NewFakeClock(t0), shards)
	start := t0.Add(72 * time.Hour)
	if err := s.SaveSlot(ctxT(t), newSlot("clinic-a", "slot-ttl", start, slot.Free)); err != nil {
		t.Fatal(err)
	}
	out, err := client.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(names.Slots),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "SLOT#clinic-a#slot-ttl"}, "sk": &types.AttributeValueMemberS{Value: "S"}}})
	if err != nil {
		t.Fatal(err)
	}
	n, _ := out.Item[dynamo.AttrExpiresAt].(*types.AttributeValueMemberN)
	if n == nil || n.Value != strconv.FormatInt(start.Add(dynamo.SlotRetention).Unix(), 10) {
		t.Fatalf("expiresAt %v, want %d", out.Item[dynamo.AttrExpiresAt], start.Add(dynamo.SlotRetention).Unix())
	}
}

func TestAppointmentKeepsVisitTypeAndWaitlist(t *testing.T) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	for _, tc := range []struct {
		id        string
		visitType string
		waitlist  bool
	}{{"a-both", "FOLLOWUP", true}, {"a-neither", "", false}} {
		a := appt(tc.id, t0.Add(72*time.Hour))
		a.VisitType, a.Waitlist = tc.visitType, tc.waitlist
		got := saveNew(t, s, a)
		if got.VisitType != tc.visitType || got.Waitlist != tc.waitlist {
			t.Errorf("%s: stored visitType %q waitlist %v, want %q %v", tc.id, got.VisitType, got.Waitlist, tc.visitType, tc.waitlist)
		}
	}
	if _, _, err := s.GetAppointment(ctx, "clinic-a", "a-both"); err != nil {
		t.Fatal(err)
	}
}
