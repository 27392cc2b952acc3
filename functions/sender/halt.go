package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
)

// mappingAPI is the part of the Lambda API the halter calls.
type mappingAPI interface {
	ListEventSourceMappings(ctx context.Context, in *lambdasvc.ListEventSourceMappingsInput, opts ...func(*lambdasvc.Options)) (*lambdasvc.ListEventSourceMappingsOutput, error)
	UpdateEventSourceMapping(ctx context.Context, in *lambdasvc.UpdateEventSourceMappingInput, opts ...func(*lambdasvc.Options)) (*lambdasvc.UpdateEventSourceMappingOutput, error)
}

// esmHalter stops the sender's own SQS event source mapping. With an expired token
// every send fails with 190/401; disabling the mapping keeps the messages in the
// queue (and out of the DLQ) until an operator fixes the token and re-enables it
// (README: "sender halted").
//
// The mapping is found by function name at halt time: the stack cannot pass its
// UUID in the environment (the mapping depends on the function), and the sender's
// only event source is the outbound queue.
type esmHalter struct {
	client   mappingAPI
	function string // AWS_LAMBDA_FUNCTION_NAME, set by the Lambda runtime
	log      *slog.Logger
}

func (h esmHalter) Halt(ctx context.Context, reason string) error {
	out, err := h.client.ListEventSourceMappings(ctx, &lambdasvc.ListEventSourceMappingsInput{
		FunctionName: aws.String(h.function),
	})
	if err != nil {
		return fmt.Errorf("sender: list event source mappings of %s: %w", h.function, err)
	}
	if len(out.EventSourceMappings) == 0 {
		return errors.New("sender: no event source mapping to disable for " + h.function)
	}
	for _, m := range out.EventSourceMappings {
		uuid := aws.ToString(m.UUID)
		if _, err := h.client.UpdateEventSourceMapping(ctx, &lambdasvc.UpdateEventSourceMappingInput{
			UUID: aws.String(uuid), FunctionName: aws.String(h.function), Enabled: aws.Bool(false),
		}); err != nil {
			return fmt.Errorf("sender: disable event source mapping %s: %w", uuid, err)
		}
		h.log.Error("sender: event source mapping disabled", "alert", "whatsapp_auth_halt",
			"event_source_mapping", uuid, "reason", reason)
	}
	return nil
}
