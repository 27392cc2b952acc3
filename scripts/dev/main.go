// Command dev runs the whole of Frontdesk locally (`make dev`): DynamoDB Local and
// moto, the EHR API and the WhatsApp webhook on 127.0.0.1:8080, the reminder sweep,
// the queue consumers, the Graph API stand-in on 127.0.0.1:8089 and a demo clinic.
// Ctrl-C stops all of it, local servers included.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/frontdesk-health/frontdesk/scripts/internal/devstack"
)

func main() {
	cfg, err := devstack.ConfigFromEnv(os.LookupEnv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintln(os.Stderr, "starting DynamoDB Local, moto, the Graph API stand-in and Frontdesk ...")
	stack, err := devstack.Start(ctx, cfg)
	if err != nil {
		if ctx.Err() != nil { // Ctrl-C while starting: Start has cleaned up
			fmt.Fprintln(os.Stderr, "stopped")
			return
		}
		fmt.Fprintln(os.Stderr, "dev:", err)
		os.Exit(1)
	}
	fmt.Fprint(os.Stderr, devstack.Instructions(stack, cfg))
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "\nstopping ...")
	stack.Stop()
	fmt.Fprintln(os.Stderr, "stopped")
}
