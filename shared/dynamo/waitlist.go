package dynamo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/frontdesk-health/frontdesk/shared/slot"
)

// The waitlist and freed slots, in the slots table:
//
//   - a clinic's waitlist is one partition, WAIT#<clinic>: an entry per
//     appointment (sk "A#<appointment>", with when it joined: the offer order) and
//     a marker per patient (sk "P#<patient>", the latest offer: at most one a day).
//     A clinic's waitlist is read with one query of that partition.
//   - a freed slot's release is an item beside the slot (sk "R"): when it was
//     freed, the last wave, when to look again; while waves are due it rides the
//     slot-free index under "WAVE#<clinic>" with start = the next wave's time, so
//     the sweep finds due waves with one query per clinic. An offer is an item
//     beside it (sk "O#<appointment>"), written once.
const (
	prefixWait     = "WAIT#"
	prefixWaveFree = "WAVE#"
	skWaitAppt     = "A#"
	skWaitPatient  = "P#"
	skRelease      = "R"
	skOffer        = "O#"
)

// JoinWaitlist puts an appointment on the waitlist; joining again keeps the first
// join time (and with it the patient's place).
func (s *Store) JoinWaitlist(ctx context.Context, clinicID string, e slot.Entry) error {
	op := fmt.Sprintf("join waitlist %s/%s", clinicID, e.AppointmentID)
	upd := expression.Set(expression.Name("appointmentId"), expression.Value(e.AppointmentID)).
		Set(expression.Name("patientId"), expression.Value(e.PatientID)).
		Set(expression.Name("joinedAt"), expression.IfNotExists(expression.Name("joinedAt"), expression.Value(unixNanos(e.JoinedAt))))
	return wrap(op, s.update(ctx, s.names.Slots, prefixWait+clinicID, skWaitAppt+e.AppointmentID, upd, nil))
}

// LeaveWaitlist takes an appointment off the waitlist (no-op when it is not on it).
func (s *Store) LeaveWaitlist(ctx context.Context, clinicID, appointmentID string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.names.Slots),
		Key: itemKey(prefixWait+clinicID, skWaitAppt+appointmentID)})
	return wrap(fmt.Sprintf("leave waitlist %s/%s", clinicID, appointmentID), err)
}

// ClinicWaitlist reads a clinic's waitlist (one query, strongly consistent).
func (s *Store) ClinicWaitlist(ctx context.Context, clinicID string) (slot.Waitlist, error) {
	op := fmt.Sprintf("waitlist of %s", clinicID)
	in, err := keyQuery(s.names.Slots, "", expression.Key(AttrPK).Equal(expression.Value(prefixWait+clinicID)), true)
	if err != nil {
		return slot.Waitlist{}, wrap(op, err)
	}
	items, err := s.queryAll(ctx, in)
	if err != nil {
		return slot.Waitlist{}, wrap(op, err)
	}
	w := slot.Waitlist{LastOfferAt: map[string]time.Time{}}
	for _, av := range items {
		var it struct {
			SK            string `dynamodbav:"sk"`
			AppointmentID string `dynamodbav:"appointmentId"`
			PatientID     string `dynamodbav:"patientId"`
			JoinedAt      int64  `dynamodbav:"joinedAt"`
			LastOfferAt   int64  `dynamodbav:"lastOfferAt"`
		}
		if err := attributevalue.UnmarshalMap(av, &it); err != nil {
			return slot.Waitlist{}, fmt.Errorf("dynamo: %s: decode: %w", op, err)
		}
		switch {
		case strings.HasPrefix(it.SK, skWaitAppt):
			w.Entries = append(w.Entries, slot.Entry{AppointmentID: it.AppointmentID, PatientID: it.PatientID, JoinedAt: fromUnixNanos(it.JoinedAt)})
		case strings.HasPrefix(it.SK, skWaitPatient):
			w.LastOfferAt[strings.TrimPrefix(it.SK, skWaitPatient)] = fromUnixNanos(it.LastOfferAt)
		}
	}
	return w, nil
}

type releaseItem struct {
	PK         string   `dynamodbav:"pk"`
	SK         string   `dynamodbav:"sk"`
	FreeClinic string   `dynamodbav:"freeClinic,omitempty"`
	Start      string   `dynamodbav:"start,omitempty"`
	ClinicID   string   `dynamodbav:"clinicId"`
	SlotID     string   `dynamodbav:"slotId"`
	ReleasedAt int64    `dynamodbav:"releasedAt"`
	LastWaveAt int64    `dynamodbav:"lastWaveAt,omitempty"`
	NextAt     int64    `dynamodbav:"nextAt,omitempty"`
	Offered    []string `dynamodbav:"offered,omitempty"`
	ExpiresAt  int64    `dynamodbav:"expiresAt"`
}

func (it releaseItem) domain() slot.Release {
	return slot.Release{ClinicID: it.ClinicID, SlotID: it.SlotID, ReleasedAt: fromUnixNanos(it.ReleasedAt),
		LastWaveAt: fromUnixNanos(it.LastWaveAt), NextAt: fromUnixNanos(it.NextAt), Offered: it.Offered}
}

// StartRelease records that the EHR freed a slot at releasedAt, with its first
// wave due at once. A release of the slot still running (waves due) is kept, so
// a redelivered PUT does not restart the waves; it answers whether it started one.
func (s *Store) StartRelease(ctx context.Context, clinicID, slotID string, releasedAt, slotStart time.Time) (bool, error) {
	op := fmt.Sprintf("start release of %s/%s", clinicID, slotID)
	item, err := marshal(releaseItem{PK: slotPK(clinicID, slotID), SK: skRelease, FreeClinic: prefixWaveFree + clinicID,
		Start: formatSortable(releasedAt), ClinicID: clinicID, SlotID: slotID, ReleasedAt: unixNanos(releasedAt), NextAt: unixNanos(releasedAt),
		ExpiresAt: slotStart.Add(SlotRetention).Unix()})
	if err != nil {
		return false, fmt.Errorf("dynamo: %s: %w", op, err)
	}
	cond := nPK.AttributeNotExists().Or(expression.Name("nextAt").AttributeNotExists())
	err = s.put(ctx, s.names.Slots, item, &cond)
	if conditionFailed(err) {
		return false, nil
	}
	return err == nil, wrap(op, err)
}

// DueReleases lists a clinic's releases whose next wave is due at now (one query).
func (s *Store) DueReleases(ctx context.Context, clinicID string, now time.Time, limit int) ([]slot.Release, error) {
	return slotFreeUpTo(ctx, s, fmt.Sprintf("due releases of %s", clinicID), prefixWaveFree+clinicID, now, limit, releaseItem.domain)
}

// RecordOffer writes the offer of a release's slot to one appointment, once: it
// answers false when that appointment was offered this release before (a retried
// wave), so the offer is not sent twice. It also stamps the patient's latest offer.
func (s *Store) RecordOffer(ctx context.Context, r slot.Release, appointmentID, patientID string, sentAt, expiresAt time.Time) (bool, error) {
	op := fmt.Sprintf("record offer of %s/%s to %s", r.ClinicID, r.SlotID, appointmentID)
	item, err := marshal(struct {
		PK            string `dynamodbav:"pk"`
		SK            string `dynamodbav:"sk"`
		ReleasedAt    int64  `dynamodbav:"releasedAt"`
		AppointmentID string `dynamodbav:"appointmentId"`
		SentAt        int64  `dynamodbav:"sentAt"`
		OfferExpires  int64  `dynamodbav:"offerExpiresAt"`
		ExpiresAt     int64  `dynamodbav:"expiresAt"`
	}{slotPK(r.ClinicID, r.SlotID), skOffer + appointmentID, unixNanos(r.ReleasedAt), appointmentID, unixNanos(sentAt), unixNanos(expiresAt),
		expiresAt.Add(SlotRetention).Unix()})
	if err != nil {
		return false, fmt.Errorf("dynamo: %s: %w", op, err)
	}
	cond := nPK.AttributeNotExists().Or(expression.Name("releasedAt").NotEqual(expression.Value(unixNanos(r.ReleasedAt))))
	if err := s.put(ctx, s.names.Slots, item, &cond); err != nil {
		if conditionFailed(err) {
			return false, nil
		}
		return false, wrap(op, err)
	}
	upd := expression.Set(expression.Name("lastOfferAt"), expression.Value(unixNanos(sentAt)))
	return true, wrap(op, s.update(ctx, s.names.Slots, prefixWait+r.ClinicID, skWaitPatient+patientID, upd, nil))
}

// OfferExpiry is when the offer of a slot to an appointment lapses (false: never offered).
func (s *Store) OfferExpiry(ctx context.Context, clinicID, slotID, appointmentID string) (time.Time, bool, error) {
	var it struct {
		OfferExpires int64 `dynamodbav:"offerExpiresAt"`
	}
	ok, err := s.getItem(ctx, s.names.Slots, slotPK(clinicID, slotID), skOffer+appointmentID, &it)
	if err != nil || !ok {
		return time.Time{}, false, wrap(fmt.Sprintf("offer of %s/%s to %s", clinicID, slotID, appointmentID), err)
	}
	return fromUnixNanos(it.OfferExpires), true, nil
}

// WaveDone records a wave of release r: the appointments offered, and when to look
// again (zero next: no more waves; the release leaves the due index).
func (s *Store) WaveDone(ctx context.Context, r slot.Release, at time.Time, offered []string, next time.Time) error {
	op := fmt.Sprintf("record wave of %s/%s", r.ClinicID, r.SlotID)
	upd := expression.Set(expression.Name("lastWaveAt"), expression.Value(unixNanos(at)))
	if len(offered) > 0 {
		upd = upd.Set(expression.Name("offered"), expression.ListAppend(
			expression.IfNotExists(expression.Name("offered"), expression.Value([]string{})), expression.Value(offered)))
	}
	if next.IsZero() {
		upd = upd.Remove(expression.Name(AttrFreeClinic)).Remove(expression.Name("nextAt"))
	} else {
		upd = upd.Set(expression.Name("nextAt"), expression.Value(unixNanos(next))).Set(expression.Name(AttrStart), expression.Value(formatSortable(next)))
	}
	cond := expression.Name("releasedAt").Equal(expression.Value(unixNanos(r.ReleasedAt)))
	err := s.update(ctx, s.names.Slots, slotPK(r.ClinicID, r.SlotID), skRelease, upd, &cond)
	if conditionFailed(err) {
		return nil // a newer release replaced this one: its waves are its own
	}
	return wrap(op, err)
}
