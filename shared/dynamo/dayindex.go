package dynamo

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"golang.org/x/sync/errgroup"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// The clinic-day index answers "a clinic's appointments of a day" with one query
// per UTC date, without a new GSI (CloudFormation adds one GSI per table per
// update, and this release already adds one). Every save of an appointment puts an
// entry under the UTC date of its start. A moved appointment leaves its old entry
// behind: entries are hints, the appointment itself is the truth, so readers check
// the stored start and skip stale entries. UTC dates keep the index independent of
// the clinic's zone; a local day spans at most two of them.
const prefixDay = "DAY#"

type dayIndexItem struct {
	PK            string `dynamodbav:"pk"`
	SK            string `dynamodbav:"sk"`
	ClinicID      string `dynamodbav:"clinicId"`
	AppointmentID string `dynamodbav:"appointmentId"`
	DayStart      string `dynamodbav:"dayStart"`
}

func dayPK(clinicID string, day time.Time) string {
	return prefixDay + clinicID + "#" + day.UTC().Format(time.DateOnly)
}

func toDayIndexItem(a appointment.Appointment) dayIndexItem {
	return dayIndexItem{PK: dayPK(a.ClinicID, a.Start), SK: a.ID, ClinicID: a.ClinicID, AppointmentID: a.ID,
		DayStart: formatSortable(a.Start)}
}

// ScheduledAppointment is an appointment with its reminders.
type ScheduledAppointment struct {
	Appointment appointment.Appointment
	Reminders   []reminder.Reminder
}

// parallelReads bounds the concurrent reads of one AppointmentsBetween call.
const parallelReads = 8

// MaxDayRange bounds AppointmentsBetween: a day in any zone, with margin.
const MaxDayRange = 48 * time.Hour

// AppointmentsBetween lists a clinic's appointments starting in [from, to), in
// start order, with their reminders.
func (s *Store) AppointmentsBetween(ctx context.Context, clinicID string, from, to time.Time) ([]ScheduledAppointment, error) {
	op := fmt.Sprintf("appointments of %s between %s and %s", clinicID, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	if !from.Before(to) || to.Sub(from) > MaxDayRange {
		return nil, fmt.Errorf("dynamo: %s: the range must be positive and at most %s", op, MaxDayRange)
	}
	lo, hi := formatSortable(from), formatSortable(to)
	var ids []string
	for day := from.UTC().Truncate(24 * time.Hour); day.Before(to); day = day.Add(24 * time.Hour) {
		in, err := keyQuery(s.names.Appointments, "", expression.Key(AttrPK).Equal(expression.Value(dayPK(clinicID, day))), false)
		if err != nil {
			return nil, wrap(op, err)
		}
		items, err := s.queryAll(ctx, in)
		if err != nil {
			return nil, wrap(op, err)
		}
		for _, av := range items {
			var it dayIndexItem
			if err := attributevalue.UnmarshalMap(av, &it); err != nil {
				return nil, fmt.Errorf("dynamo: %s: decode: %w", op, err)
			}
			if it.DayStart >= lo && it.DayStart < hi {
				ids = append(ids, it.AppointmentID)
			}
		}
	}
	// One read per appointment (it shares its partition with its reminders), a few at
	// a time, so a full day costs about one round trip per parallelReads appointments.
	found := make([]*ScheduledAppointment, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallelReads)
	for i, id := range ids {
		g.Go(func() error {
			a, rs, err := s.GetAppointment(gctx, clinicID, id)
			if err != nil {
				return err
			}
			if !a.Start.Before(from) && a.Start.Before(to) { // else moved since: its current day has its own entry
				found[i] = &ScheduledAppointment{Appointment: a, Reminders: rs}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("dynamo: %s: %w", op, err)
	}
	var out []ScheduledAppointment
	for _, sa := range found {
		if sa != nil {
			out = append(out, *sa)
		}
	}
	slices.SortStableFunc(out, func(a, b ScheduledAppointment) int { return a.Appointment.Start.Compare(b.Appointment.Start) })
	return out, nil
}

// BackfillDayIndex writes the clinic-day entry of every stored appointment, for
// appointments saved before the index existed. It is idempotent and safe to run
// while the API writes: an entry is a hint that readers check against the appointment.
func (s *Store) BackfillDayIndex(ctx context.Context) (int, error) {
	op := "backfill day index"
	filt := nSK.Equal(expression.Value(skAppointment))
	n := 0
	err := scanEach(ctx, s, op, s.names.Appointments, filt, func(it appointmentItem) error {
		a, err := it.domain()
		if err != nil {
			return fmt.Errorf("dynamo: %s: decode %s/%s: %w", op, it.ClinicID, it.ID, err)
		}
		item, err := marshal(toDayIndexItem(a))
		if err != nil {
			return fmt.Errorf("dynamo: %s: %w", op, err)
		}
		if err := s.put(ctx, s.names.Appointments, item, nil); err != nil {
			return wrap(op, err)
		}
		n++
		return nil
	})
	return n, err
}
