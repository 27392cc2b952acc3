// Command localstack starts DynamoDB Local and moto_server on free loopback ports,
// creates every table and queue from the shared definitions, runs the command given
// after "--" with the endpoints in its environment, and stops the servers when the
// command ends or on Ctrl-C. `make test` runs the test suite through it.
//
//	go run ./scripts/localstack -- go test ./...
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/frontdesk-health/frontdesk/scripts/internal/localstack"
)

func main() { os.Exit(run()) }

func run() int {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: localstack -- COMMAND [ARGS...]")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	stack, err := localstack.Start(ctx, localstack.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer stack.Stop()
	fmt.Fprintf(os.Stderr, "localstack: DynamoDB Local at %s, SQS (moto) at %s\n", stack.DynamoEndpoint, stack.SQSEndpoint)

	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(append(os.Environ(), stack.Env()...), "FRONTDESK_REQUIRE_LOCAL=1")
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "localstack:", err)
		return 1
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = cmd.Process.Signal(syscall.SIGTERM)
		err = <-done
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "localstack:", err)
		return 1
	}
	return 0
}
