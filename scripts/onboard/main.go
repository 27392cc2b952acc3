// Command onboard validates a clinic file and writes it to the clinics table, on the
// local stack or in a real account (credentials and region from the usual AWS
// environment; TABLE_PREFIX names the deployment's tables).
//
//	go run ./scripts/onboard -file scripts/clinics/demo-clinic.json [-dry-run]
//	go run ./scripts/onboard -file clinic.json -api-token-env CLINIC_API_TOKEN   # store the read token's hash
//	go run ./scripts/onboard -file clinic.json -write-token-env CLINIC_WRITE_TOKEN   # and the write token's
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/frontdesk-health/frontdesk/scripts/internal/clinicfile"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/platform/sdkconfig"
)

func main() {
	file := flag.String("file", "", "clinic JSON file")
	dryRun := flag.Bool("dry-run", false, "validate only")
	tokenEnv := flag.String("api-token-env", "", "environment variable holding the clinic's read token (GET routes); its SHA-256 is stored")
	writeTokenEnv := flag.String("write-token-env", "", "environment variable holding the clinic's write token (bearer-authenticated FHIR pushes); its SHA-256 is stored")
	flag.Parse()
	if err := run(context.Background(), *file, *dryRun, *tokenEnv, *writeTokenEnv); err != nil {
		fmt.Fprintln(os.Stderr, "onboard:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, file string, dryRun bool, tokenEnv, writeTokenEnv string) error {
	c, err := clinicfile.Load(file, tokenEnv, writeTokenEnv, os.LookupEnv)
	if err != nil {
		return err
	}
	if dryRun {
		fmt.Printf("clinic %s is valid\n", c.ID)
		return nil
	}
	env := platform.NewEnv()
	prefix := env.Required(platform.EnvTablePrefix)
	if err := env.Err(); err != nil {
		return err
	}
	cfg, err := sdkconfig.Load(ctx)
	if err != nil {
		return err
	}
	store := dynamo.NewStore(dynamo.NewClient(cfg), dynamo.NamesWithPrefix(prefix), platform.SystemClock{}, 0)
	if err := store.PutClinic(ctx, c); err != nil {
		return err
	}
	fmt.Printf("clinic %s written to %s\n", c.ID, prefix+dynamo.TableClinics)
	if c.BusinessPortfolioID == "" {
		// Business-scoped user ids are then kept per WABA; setting the portfolio later
		// makes the clinic forget them until patients write again.
		fmt.Printf("clinic %s has no businessPortfolioId: set it (Meta Business Settings > Business info) so BSUIDs are scoped to the portfolio\n", c.ID)
	}
	return nil
}
