// Command templates submits Frontdesk's WhatsApp message templates (defined as code
// in shared/reminder) to a WhatsApp Business Account and reports their review status.
//
//	go run ./scripts/templates -waba <id>            # dry run: print the requests
//	go run ./scripts/templates -waba <id> -submit    # create them (existing ones are left alone)
//	go run ./scripts/templates -waba <id> -status    # list review status; exit 1 if any is unusable
//
// Environment: WHATSAPP_API_BASE_URL (default: the local stand-in; use
// https://graph.facebook.com for Meta), WHATSAPP_API_VERSION (default v23.0),
// WHATSAPP_ACCESS_TOKEN (required for -submit and -status).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "templates:", err)
		os.Exit(1)
	}
}
