package main

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// fakeLambda is the Lambda API: it cannot run here.
type fakeLambda struct {
	mappings []string
	listErr  error
	disabled []string
	asked    string
}

func (f *fakeLambda) ListEventSourceMappings(_ context.Context, in *lambdasvc.ListEventSourceMappingsInput, _ ...func(*lambdasvc.Options)) (*lambdasvc.ListEventSourceMappingsOutput, error) {
	f.asked = aws.ToString(in.FunctionName)
	out := &lambdasvc.ListEventSourceMappingsOutput{}
	for _, m := range f.mappings {
		out.EventSourceMappings = append(out.EventSourceMappings, types.EventSourceMappingConfiguration{UUID: aws.String(m)})
	}
	return out, f.listErr
}

func (f *fakeLambda) UpdateEventSourceMapping(_ context.Context, in *lambdasvc.UpdateEventSourceMappingInput, _ ...func(*lambdasvc.Options)) (*lambdasvc.UpdateEventSourceMappingOutput, error) {
	if aws.ToBool(in.Enabled) {
		return nil, errors.New("halt must disable, not enable")
	}
	f.disabled = append(f.disabled, aws.ToString(in.UUID))
	return &lambdasvc.UpdateEventSourceMappingOutput{}, nil
}

func TestHaltDisablesOwnMapping(t *testing.T) {
	log := platform.NewLogger(io.Discard, nil)
	f := &fakeLambda{mappings: []string{"uuid-1"}}
	h := esmHalter{client: f, function: "frontdesk-prod-sender", log: log}
	if err := h.Halt(context.Background(), "token expired"); err != nil {
		t.Fatal(err)
	}
	if f.asked != "frontdesk-prod-sender" || len(f.disabled) != 1 || f.disabled[0] != "uuid-1" {
		t.Fatalf("asked for %q, disabled %v", f.asked, f.disabled)
	}
	if err := (esmHalter{client: &fakeLambda{}, function: "x", log: log}).Halt(context.Background(), "r"); err == nil {
		t.Fatal("no mapping must be an error: the halt did not happen")
	}
	if err := (esmHalter{client: &fakeLambda{listErr: errors.New("denied")}, function: "x", log: log}).Halt(context.Background(), "r"); err == nil {
		t.Fatal("a list failure must surface")
	}
}
