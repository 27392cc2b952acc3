package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
)

// esmHalter stops the sender's own SQS event source mapping. With an expired token
// every send fails with 190/401; disabling the mapping keeps the messages in the
// queue (and out of the DLQ) until an operator fixes the token and re-enables it
// (README: "sender halted").
type esmHalter struct {
	client *lambdasvc.Client
	uuid   string
	log    *slog.Logger
}

func (h esmHalter) Halt(ctx context.Context, reason string) error {
	_, err := h.client.UpdateEventSourceMapping(ctx, &lambdasvc.UpdateEventSourceMappingInput{
		UUID: aws.String(h.uuid), Enabled: aws.Bool(false),
	})
	if err != nil {
		return fmt.Errorf("sender: disable event source mapping %s: %w", h.uuid, err)
	}
	h.log.Error("sender: event source mapping disabled", "alert", "whatsapp_auth_halt",
		"event_source_mapping", h.uuid, "reason", reason)
	return nil
}
