// Command dlq lists a dead-letter queue and redrives it to its work queue.
//
//	go run ./scripts/dlq -queue outbound              # list up to 50 parked messages
//	go run ./scripts/dlq -queue inbound -redrive -dry-run
//	go run ./scripts/dlq -queue ehr-outbox -redrive
//
// The work queue URL comes from the function environment (OUTBOUND_QUEUE_URL, ...);
// its DLQ is "<work queue name>-dlq". SQS_ENDPOINT points it at the local SQS.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "dlq:", err)
		os.Exit(1)
	}
}
