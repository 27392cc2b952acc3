// Command backfill adds the reminders that were queued or sending before the
// next-attempt index existed to it, so the reaper can find those whose job was lost,
// and gives the notices queued before due markers existed theirs, so the sweep's
// notice dispatch sends them.
// Run it once after the deploy that adds the index (README: deploying); running it
// again adds nothing.
//
//	TABLE_PREFIX=frontdesk-prod- go run ./scripts/backfill
//
// SWEEP_SHARDS must be the functions' value (default 8): the index is sharded the
// same way. DYNAMODB_ENDPOINT points it at DynamoDB Local.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/frontdesk-health/frontdesk/shared/app"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/platform/sdkconfig"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "backfill:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, out io.Writer) error {
	prefix := getenv(platform.EnvTablePrefix)
	if prefix == "" {
		return fmt.Errorf("%s is not set (e.g. frontdesk-prod-)", platform.EnvTablePrefix)
	}
	shards := app.DefaultSweepShards
	if v := getenv(platform.EnvSweepShards); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("%s=%q is not a positive integer", platform.EnvSweepShards, v)
		}
		shards = n
	}
	cfg, err := sdkconfig.Load(ctx)
	if err != nil {
		return err
	}
	endpoint := getenv(platform.EnvDynamoEndpoint)
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	store := dynamo.NewStore(client, dynamo.NamesWithPrefix(prefix), platform.SystemClock{}, shards)
	n, err := store.BackfillAttemptIndex(ctx)
	if err != nil {
		return fmt.Errorf("after adding %d reminders: %w", n, err)
	}
	fmt.Fprintf(out, "added %d queued or sending reminders of %sappointments to the %s index\n", n, prefix, dynamo.IndexNextAttempt)
	n, err = store.BackfillNoticeDue(ctx)
	if err != nil {
		return fmt.Errorf("after adding %d notice due markers: %w", n, err)
	}
	fmt.Fprintf(out, "added due markers for %d queued notices of %spatients\n", n, prefix)
	return nil
}
