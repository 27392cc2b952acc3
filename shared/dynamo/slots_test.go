package dynamo_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/slot"
)

func newSlot(clinicID, id string, start time.Time, status slot.Status) slot.Slot {
	return slot.Slot{ClinicID: clinicID, ID: id, Start: start, Duration: 30 * time.Minute, Status: status,
		Location: "Main St", Practitioner: "Dr Example", VisitType: "FOLLOWUP", Version: 1}
}

func TestSaveSlotCreatesUpdatesAndLocks(t *testing.T) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	start := t0.Add(48 * time.Hour)

	if _, err := s.GetSlot(ctx, "clinic-a", "slot-1"); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("missing slot: %v, want ErrNotFound", err)
	}
	first := newSlot("clinic-a", "slot-1", start, slot.Free)
	first.OrderingKey = "versionId"
	if err := s.SaveSlot(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSlot(ctx, first); !errors.Is(err, dynamo.ErrConditionFailed) {
		t.Fatalf("second create: %v, want ErrConditionFailed", err)
	}
	got, err := s.GetSlot(ctx, "clinic-a", "slot-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Revision != 1 || !got.Start.Equal(start) || got.Status != slot.Free || got.Location != "Main St" ||
		got.VisitType != "FOLLOWUP" || got.OrderingKey != "versionId" || !got.CreatedAt.Equal(t0) {
		t.Fatalf("stored %+v", got)
	}

	// An update names the revision it read; optional fields left out are removed.
	next := slot.Slot{ClinicID: "clinic-a", ID: "slot-1", Start: start.Add(time.Hour), Duration: 15 * time.Minute,
		Status: slot.Busy, Version: 2, Revision: got.Revision}
	if err := s.SaveSlot(ctx, next); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSlot(ctx, next); !errors.Is(err, dynamo.ErrConditionFailed) {
		t.Fatalf("update with a stale revision: %v, want ErrConditionFailed", err)
	}
	got, err = s.GetSlot(ctx, "clinic-a", "slot-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Revision != 2 || got.Status != slot.Busy || got.Location != "" || got.Practitioner != "" || got.VisitType != "" ||
		got.OrderingKey != "" || got.Duration != 15*time.Minute || !got.CreatedAt.Equal(t0) {
		t.Fatalf("updated %+v", got)
	}
	if err := s.SaveSlot(ctx, slot.Slot{ClinicID: "clinic-a", ID: "bad", Start: start, Status: "open", Duration: time.Minute}); err == nil {
		t.Fatal("an invalid slot was saved")
	}
}

func TestSlotsInAWindow(t *testing.T) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	day := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	// Saved out of order; busy ones in between; one at exactly "to"; another clinic.
	for i, h := range []int{15, 9, 11, 10, 13, 24} {
		status := slot.Free
		if h == 10 || h == 13 {
			status = slot.Busy
		}
		if err := s.SaveSlot(ctx, newSlot("clinic-a", "slot-"+strconv.Itoa(i), day.Add(time.Duration(h)*time.Hour), status)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SaveSlot(ctx, newSlot("clinic-b", "slot-b", day.Add(12*time.Hour), slot.Free)); err != nil {
		t.Fatal(err)
	}
	hours := func(ss []slot.Slot) []int {
		var out []int
		for _, x := range ss {
			out = append(out, x.Start.Hour())
		}
		return out
	}
	read := func(q dynamo.SlotQuery) ([]int, int) {
		var all []slot.Slot
		pages := 0
		for {
			p, err := s.Slots(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			all = append(all, p.Slots...)
			if p.Next == nil {
				return hours(all), pages
			}
			q.After = p.Next
		}
	}
	cases := []struct {
		name  string
		q     dynamo.SlotQuery
		want  []int
		pages int
	}{
		{"the day, in start order, to excluded", dynamo.SlotQuery{ClinicID: "clinic-a", From: day, To: day.Add(24 * time.Hour)}, []int{9, 10, 11, 13, 15}, 1},
		{"pages of two", dynamo.SlotQuery{ClinicID: "clinic-a", From: day, To: day.Add(24 * time.Hour), Limit: 2}, []int{9, 10, 11, 13, 15}, 3},
		{"free only", dynamo.SlotQuery{ClinicID: "clinic-a", From: day, To: day.Add(24 * time.Hour), FreeOnly: true}, []int{9, 11, 15}, 1},
		{"free only, pages of one", dynamo.SlotQuery{ClinicID: "clinic-a", From: day, To: day.Add(24 * time.Hour), FreeOnly: true, Limit: 1}, []int{9, 11, 15}, 3},
		{"from is included", dynamo.SlotQuery{ClinicID: "clinic-a", From: day.Add(11 * time.Hour), To: day.Add(14 * time.Hour)}, []int{11, 13}, 1},
		{"empty window", dynamo.SlotQuery{ClinicID: "clinic-a", From: day.Add(16 * time.Hour), To: day.Add(17 * time.Hour)}, nil, 1},
		{"another clinic's", dynamo.SlotQuery{ClinicID: "clinic-b", From: day, To: day.Add(48 * time.Hour)}, []int{12}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, pages := read(tc.q)
			if len(got) != len(tc.want) || pages < tc.pages || pages > tc.pages+1 {
				t.Fatalf("hours %v in %d pages, want %v in %d", got, pages, tc.want, tc.pages)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("hours %v, want %v", got, tc.want)
				}
			}
		})
	}

	// A slot that turns busy leaves the free index; free again, it is back.
	sl, _ := s.GetSlot(ctx, "clinic-a", "slot-1") // 09:00
	sl.Status, sl.Version = slot.Busy, 2
	if err := s.SaveSlot(ctx, sl); err != nil {
		t.Fatal(err)
	}
	if got, _ := read(dynamo.SlotQuery{ClinicID: "clinic-a", From: day, To: day.Add(24 * time.Hour), FreeOnly: true}); len(got) != 2 || got[0] != 11 {
		t.Fatalf("after busy: free %v, want [11 15]", got)
	}
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
