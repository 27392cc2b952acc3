package dynamo

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestWrapRecognisesConditionFailures(t *testing.T) {
	reasons := func(codes ...string) error {
		var rs []types.CancellationReason
		for _, c := range codes {
			rs = append(rs, types.CancellationReason{Code: aws.String(c)})
		}
		return &types.TransactionCanceledException{CancellationReasons: rs}
	}
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"conditional check", &types.ConditionalCheckFailedException{}, true},
		{"transaction with failed condition", reasons("None", "ConditionalCheckFailed"), true},
		{"transaction conflict", reasons("TransactionConflict", "None"), true},
		{"transaction throttled", reasons("ThrottlingError"), false},
		{"other", errors.New("boom"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := wrap("op", c.err)
			if got := errors.Is(err, ErrConditionFailed); got != c.want {
				t.Fatalf("errors.Is(%v, ErrConditionFailed) = %v, want %v", err, got, c.want)
			}
			var cfe *ConditionFailedError
			if errors.As(err, &cfe) != c.want {
				t.Fatalf("errors.As ConditionFailedError mismatch for %v", err)
			}
			if !errors.Is(err, c.err) {
				t.Fatalf("wrapped error lost its cause: %v", err)
			}
		})
	}
}

func TestShardOfIsStableAndInRange(t *testing.T) {
	s := &Store{shards: 7}
	seen := map[string]bool{}
	for i := range 200 {
		pk := appointmentPK("c1", string(rune('a'+i%26))+string(rune('a'+i/26)))
		sh := s.shardOf(pk)
		if sh != s.shardOf(pk) {
			t.Fatal("shard not stable")
		}
		if len(sh) != 2 || sh < "00" || sh > "06" {
			t.Fatalf("shard %q out of range", sh)
		}
		seen[sh] = true
	}
	if len(seen) != 7 {
		t.Fatalf("200 keys used only %d of 7 shards", len(seen))
	}
}
