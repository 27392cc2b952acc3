// Command dayindex writes the clinic-day index entry of every stored appointment,
// for appointments saved before the console's Today page existed. Run it once per
// deployment after upgrading; it is idempotent and safe while the API writes.
//
//	TABLE_PREFIX=frontdesk-prod- go run ./scripts/dayindex
//
// DYNAMODB_ENDPOINT points it at DynamoDB Local.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/platform/sdkconfig"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	prefix := os.Getenv(platform.EnvTablePrefix)
	if prefix == "" {
		fmt.Fprintln(os.Stderr, "dayindex: set TABLE_PREFIX (e.g. frontdesk-prod-)")
		os.Exit(2)
	}
	cfg, err := sdkconfig.Load(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dayindex:", err)
		os.Exit(1)
	}
	store := dynamo.NewStore(dynamo.NewClient(cfg), dynamo.NamesWithPrefix(prefix), platform.SystemClock{}, 1)
	n, err := store.BackfillDayIndex(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dayindex: %v (%d entries written before the error; run it again)\n", err, n)
		os.Exit(1)
	}
	fmt.Printf("dayindex: %d appointments indexed\n", n)
}
