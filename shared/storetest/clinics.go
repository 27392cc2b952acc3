package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// ClinicStore is what services read of clinics: configuration by id and by the
// WhatsApp number that receives their messages.
type ClinicStore interface {
	PutClinic(ctx context.Context, c clinic.Clinic) error
	GetClinic(ctx context.Context, id string) (clinic.Clinic, error)
	ClinicByPhoneNumberID(ctx context.Context, phoneNumberID string) (clinic.Clinic, error)
}

// Clinics asserts that a clinic's configuration round-trips, a missing clinic
// is fault.ErrNotFound and a number shared by two clinics is an error.
func Clinics[S ClinicStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	open := func(t *testing.T) (ClinicStore, *platform.FakeClock) {
		clock := platform.NewFakeClock(t0)
		return newStore(t, clock), clock
	}
	t.Run("clinics", func(t *testing.T) { clinics(t, open) })
}

func clinics(t *testing.T, newStore func(*testing.T) (ClinicStore, *platform.FakeClock)) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	c := testClinic()
	if err := s.PutClinic(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetClinic(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != c.Name || got.ReminderPolicy.Steps[0].Offset != c.ReminderPolicy.Steps[0].Offset ||
		!slices.Equal(got.Hours.Days, c.Hours.Days) || got.QuietHours != c.QuietHours {
		t.Fatalf("GetClinic = %+v, want %+v", got, c)
	}
	byNumber, err := s.ClinicByPhoneNumberID(ctx, c.PhoneNumberID)
	if err != nil || byNumber.ID != c.ID {
		t.Fatalf("ClinicByPhoneNumberID = %v, %v", byNumber.ID, err)
	}
	if _, err := s.GetClinic(ctx, "nope"); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("GetClinic(missing) = %v, want ErrNotFound", err)
	}
	if _, err := s.ClinicByPhoneNumberID(ctx, "999"); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("ClinicByPhoneNumberID(missing) = %v, want ErrNotFound", err)
	}
	dup := c
	dup.ID = "clinic-b"
	if err := s.PutClinic(ctx, dup); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClinicByPhoneNumberID(ctx, c.PhoneNumberID); err == nil {
		t.Fatal("a number on two clinics must be an error, not a guess")
	}
}
