package dynamo_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
)

// TestListClinicsPagesThroughEveryClinicOnce: pages of a bounded size cover
// every clinic exactly once, WABA items are not clinics, and the last page says so.
func TestListClinicsPagesThroughEveryClinicOnce(t *testing.T) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	var want []string
	for i := range 7 {
		c := clinic.Clinic{ID: fmt.Sprintf("clinic-%02d", i), Name: "Example Clinic", TimeZone: "America/New_York",
			PhoneNumberID: fmt.Sprintf("10%02d", i), WABAID: "waba-1"}
		if err := s.PutClinic(ctx, c); err != nil {
			t.Fatal(err)
		}
		want = append(want, c.ID)
	}
	for _, limit := range []int{1, 3, 100} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			var got []string
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > 20 {
					t.Fatal("paging does not end")
				}
				page, err := s.ListClinics(ctx, cursor, limit)
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Clinics) > limit {
					t.Fatalf("page of %d clinics, limit %d", len(page.Clinics), limit)
				}
				for _, c := range page.Clinics {
					got = append(got, c.ID)
				}
				if page.Next == "" {
					break
				}
				cursor = page.Next
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("clinics %v, want %v", got, want)
			}
		})
	}
}
