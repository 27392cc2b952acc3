package main

import (
	"context"
	"strings"
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

func TestOnboardWritesTheClinicTable(t *testing.T) {
	client, names := localtest.Dynamo(t)
	prefix := strings.TrimSuffix(names.Clinics, dynamo.TableClinics)
	t.Setenv(platform.EnvTablePrefix, prefix)
	t.Setenv("ONBOARD_TEST_TOKEN", "token-for-onboarding-test")
	t.Setenv("ONBOARD_TEST_WRITE_TOKEN", "write-token-for-onboarding-test")
	ctx := context.Background()

	if err := run(ctx, "../clinics/demo-clinic.json", true, "", ""); err != nil {
		t.Fatalf("dry run: %v", err)
	}
	store := dynamo.NewStore(client, names, platform.SystemClock{}, 8)
	if _, err := store.GetClinic(ctx, "demo-clinic"); err == nil {
		t.Fatal("a dry run must not write")
	}
	if err := run(ctx, "../clinics/demo-clinic.json", false, "ONBOARD_TEST_TOKEN", "ONBOARD_TEST_WRITE_TOKEN"); err != nil {
		t.Fatal(err)
	}
	c, err := store.GetClinic(ctx, "demo-clinic")
	if err != nil {
		t.Fatal(err)
	}
	if c.TimeZone != "America/New_York" || !ehr.TokenMatches(c.APITokenHash, "token-for-onboarding-test") ||
		!ehr.TokenMatches(c.WriteTokenHash, "write-token-for-onboarding-test") || c.WriteTokenSecretRef != "" ||
		c.BusinessPortfolioID != "300000000000001" || c.PortfolioScope() != "portfolio:300000000000001" {
		t.Fatalf("stored clinic %+v", c)
	}
	// Template changes Meta reports per WABA reach the clinic without a scan.
	if of, err := store.ClinicsOfWABA(ctx, c.WABAID); err != nil || len(of) != 1 || of[0].ID != "demo-clinic" {
		t.Fatalf("clinics of the WABA = %+v, %v", of, err)
	}
	if clinicByNumber, err := store.ClinicByPhoneNumberID(ctx, c.PhoneNumberID); err != nil || clinicByNumber.ID != "demo-clinic" {
		t.Fatalf("inbound routing by phone_number_id: %+v, %v", clinicByNumber, err)
	}
}
