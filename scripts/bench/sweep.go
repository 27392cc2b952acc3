package main

import (
	"context"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/frontdesk-health/frontdesk/shared/app/sweep"
	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/fnspec"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// benchShards is what the deployed functions use.
const benchShards = fnspec.SweepShards

func benchSweep(ctx context.Context, due, small, large, runs int) error {
	clock := platform.SystemClock{}
	st, db, names, err := freshStore(ctx, clock, benchShards)
	if err != nil {
		return err
	}
	c := benchClinic()
	now := clock.Now()
	t := time.Now()
	if err := seedDue(ctx, st, c, due, now, "d", noPatients); err != nil {
		return fmt.Errorf("seed due: %w", err)
	}
	if err := seedFuture(ctx, st, db, names, c, 0, small, now); err != nil {
		return fmt.Errorf("seed future: %w", err)
	}
	fmt.Printf("sweep: seeded %d due + %d future appointments in %s\n", due, small, time.Since(t).Round(time.Millisecond))
	dSmall, err := timeSweeps(ctx, st, due, runs)
	if err != nil {
		return err
	}
	fmt.Printf("sweep: %d due among %d future appointments: %s (median of %d)\n", due, small, dSmall.Round(time.Millisecond), runs)

	t = time.Now()
	if err := seedFuture(ctx, st, db, names, c, small, large, now); err != nil {
		return fmt.Errorf("seed future: %w", err)
	}
	fmt.Printf("sweep: seeded %d more future appointments in %s\n", large-small, time.Since(t).Round(time.Millisecond))
	dLarge, err := timeSweeps(ctx, st, due, runs)
	if err != nil {
		return err
	}
	fmt.Printf("sweep: %d due among %d future appointments: %s (median of %d)\n", due, large, dLarge.Round(time.Millisecond), runs)
	ratio := dLarge.Seconds() / dSmall.Seconds()
	fmt.Printf("sweep: ratio %.2f (limit 1.5)\n", ratio)
	if ratio > 1.5 {
		return fmt.Errorf("ratio %.2f exceeds 1.5", ratio)
	}
	return nil
}

// seedFuture stores appointments [from, to) a week and more ahead, each with both
// pre-visit reminders scheduled: they sit in the due index, just not due yet.
//
// One appointment is written through the Store (SaveAppointment); the rest are
// copies of its items written with BatchWriteItem, because DynamoDB Local manages
// only about a hundred transactions a second on a small box and 100,000 would take
// longer than the benchmark itself. The copies differ where the sweep could notice:
// key, appointment id, due time and due shard (computed as the Store does).
func seedFuture(ctx context.Context, st *dynamo.Store, db *dynamodb.Client, names dynamo.TableNames, c clinic.Clinic, from, to int, now time.Time) error {
	tmplID := fmt.Sprintf("tmpl%07d", from)
	start := now.Add(7 * 24 * time.Hour)
	a := appointment.Appointment{ClinicID: c.ID, ID: tmplID, Status: appointment.StatusBooked, Start: start,
		Duration: 30 * time.Minute, PatientID: "p-" + tmplID, Version: 1}
	var writes []reminder.Write
	for _, k := range []struct {
		kind   reminder.Kind
		offset time.Duration
	}{{reminder.KindDayBefore, -48 * time.Hour}, {reminder.KindSameDay, -2 * time.Hour}} {
		writes = append(writes, reminder.Write{Reminder: reminder.Reminder{ClinicID: c.ID, AppointmentID: tmplID,
			Kind: k.kind, DueAt: start.Add(k.offset), NotAfter: start, State: reminder.StateScheduled,
			Generation: reminder.Generation(start)}})
	}
	if err := st.SaveAppointment(ctx, a, writes); err != nil {
		return err
	}
	out, err := db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(names.Appointments),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "APPT#" + c.ID + "#" + tmplID}}})
	if err != nil {
		return err
	}
	const perRequest = 24 // whole appointments (3 items each) within BatchWriteItem's 25 items
	n := to - from - 1
	requests := (n + perRequest/3 - 1) / (perRequest / 3)
	return parallel(requests, 16, func(r int) error {
		var reqs []types.WriteRequest
		for k := 0; k < perRequest/3; k++ {
			i := from + 1 + r*(perRequest/3) + k
			if i >= to {
				break
			}
			id := fmt.Sprintf("f%07d", i)
			pk := "APPT#" + c.ID + "#" + id
			offset := time.Duration(i) * time.Minute
			for _, tmpl := range out.Items {
				item := make(map[string]types.AttributeValue, len(tmpl))
				for k, v := range tmpl {
					item[k] = v
				}
				item["pk"] = &types.AttributeValueMemberS{Value: pk}
				item["appointmentId"] = &types.AttributeValueMemberS{Value: id}
				if v, ok := tmpl[dynamo.AttrDueAt].(*types.AttributeValueMemberN); ok {
					sec, _ := strconv.ParseInt(v.Value, 10, 64)
					item[dynamo.AttrDueAt] = &types.AttributeValueMemberN{Value: strconv.FormatInt(sec+int64(offset/time.Second), 10)}
					item[dynamo.AttrDueShard] = &types.AttributeValueMemberS{Value: shardOf(pk)}
				}
				reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
			}
		}
		for len(reqs) > 0 {
			res, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
				RequestItems: map[string][]types.WriteRequest{names.Appointments: reqs}})
			if err != nil {
				return err
			}
			reqs = res.UnprocessedItems[names.Appointments]
		}
		return nil
	})
}

// shardOf mirrors dynamo.Store's shard choice (FNV-1a of the partition key).
func shardOf(pk string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(pk))
	return fmt.Sprintf("%02d", h.Sum32()%benchShards)
}

// timeSweeps runs one sweep over the due reminders runs times (putting them back in
// the index between runs) and returns the median duration. The sweeps enqueue to an
// in-memory outbox: the benchmark is about the index, and moto's SQS speed would
// only add noise to both sizes.
func timeSweeps(ctx context.Context, st *dynamo.Store, due, runs int) (time.Duration, error) {
	var ds []time.Duration
	// One extra, untimed sweep first: DynamoDB Local's JVM warms up on it, which
	// would otherwise flatter whichever size is measured second.
	for run := range runs + 1 {
		out := &jobsOutbox{}
		sw := sweep.New(sweep.Deps{Store: st, Outbox: out, Clock: platform.SystemClock{}, Log: quietLogger()})
		t := time.Now()
		stats, err := sw.Sweep(ctx)
		d := time.Since(t)
		if err != nil {
			return 0, err
		}
		if stats.Enqueued != due {
			return 0, fmt.Errorf("sweep enqueued %d, want %d (%+v)", stats.Enqueued, due, stats)
		}
		if run > 0 {
			ds = append(ds, d)
		}
		if err := parallel(len(out.jobs), 32, func(i int) error {
			j := out.jobs[i]
			return st.UnmarkQueued(ctx, reminder.Reminder{ClinicID: j.ClinicID, AppointmentID: j.AppointmentID,
				Kind: j.Kind, DueAt: j.DueAt, Generation: j.Generation})
		}); err != nil {
			return 0, fmt.Errorf("reset: %w", err)
		}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2], nil
}
