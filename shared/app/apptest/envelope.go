package apptest

import (
	"bytes"
	"crypto/md5" //nolint:gosec // G501: SQS defines md5OfBody as the MD5 of the body; an integrity digest, not security
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// EventsDir is the repository's events/ directory, found by walking up from the
// working directory (a test's package directory) to go.mod.
func EventsDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(RepoRoot(t), "events")
}

// RepoRoot is the directory holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	root, err := platform.RepoRoot()
	if err != nil {
		t.Fatalf("apptest: %v", err)
	}
	return root
}

// Envelope reads events/<name> and decodes it into T (an aws-lambda-go events type).
func Envelope[T any](t testing.TB, name string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(ReadEnvelope(t, name), &v); err != nil {
		t.Fatalf("apptest: decode %s as %T: %v", name, v, err)
	}
	return v
}

// ReadEnvelope returns the raw bytes of events/<name>.
func ReadEnvelope(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(EventsDir(t), name))
	if err != nil {
		t.Fatalf("apptest: %v", err)
	}
	return b
}

// RoundTrip checks that events/<name> decodes into T and encodes back to JSON
// equivalent to the file, as aws-lambda-go's own events tests do with their
// testdata: a field the Go type does not know (a typo, a wrong shape) is lost on
// the way and fails the check. See Equivalent for the one difference allowed.
func RoundTrip[T any](t testing.TB, name string) {
	t.Helper()
	raw := ReadEnvelope(t, name)
	var v T
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: decode as %T: %v", name, v, err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: encode %T: %v", name, v, err)
	}
	if err := Equivalent(raw, out); err != nil {
		t.Errorf("%s does not round-trip through %T: %v", name, v, err)
	}
}

// Equivalent compares an envelope as AWS writes it (file) with what aws-lambda-go
// writes for it (out). They must be equal except where the two spell "no value"
// differently: AWS writes null for unset fields (identity.caller, body of a GET,
// ...) or leaves them out (md5OfMessageAttributes without message attributes,
// authorizer without an authorizer), while the Go types write "" / false / 0 / null
// or drop omitempty fields. So null, false, 0, "" and a missing key are one value
// here; every value that says something must survive the round trip.
func Equivalent(file, out []byte) error {
	var a, b any
	if err := json.Unmarshal(file, &a); err != nil {
		return fmt.Errorf("file: %w", err)
	}
	if err := json.Unmarshal(out, &b); err != nil {
		return fmt.Errorf("encoded: %w", err)
	}
	var diffs []string
	compare("$", a, b, &diffs)
	if len(diffs) > 0 {
		sort.Strings(diffs)
		return errors.New(strings.Join(diffs, "; "))
	}
	return nil
}

func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case bool:
		return !x
	case float64:
		return x == 0
	}
	return false
}

func compare(path string, a, b any, diffs *[]string) {
	if empty(a) && empty(b) {
		return
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: file has an object, encoded %s", path, short(b)))
			return
		}
		keys := map[string]bool{}
		for k := range x {
			keys[k] = true
		}
		for k := range y {
			keys[k] = true
		}
		for k := range keys {
			av, aok := x[k]
			bv, bok := y[k]
			switch {
			case aok && !bok && !empty(av):
				*diffs = append(*diffs, fmt.Sprintf("%s.%s = %s is lost (the Go type has no such field)", path, k, short(av)))
			case bok && !aok && !empty(bv):
				*diffs = append(*diffs, fmt.Sprintf("%s.%s = %s appears from nowhere", path, k, short(bv)))
			default:
				compare(path+"."+k, av, bv, diffs)
			}
		}
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			*diffs = append(*diffs, fmt.Sprintf("%s: file %s, encoded %s", path, short(a), short(b)))
			return
		}
		for i := range x {
			compare(fmt.Sprintf("%s[%d]", path, i), x[i], y[i], diffs)
		}
	default:
		if !reflect.DeepEqual(a, b) {
			*diffs = append(*diffs, fmt.Sprintf("%s: file %s, encoded %s", path, short(a), short(b)))
		}
	}
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}

// CheckSQSDigests fails the test when a record's md5OfBody is not the MD5 of its
// body, as SQS computes it: an edited body must come with its digest.
func CheckSQSDigests(t testing.TB, name string, ev events.SQSEvent) {
	t.Helper()
	if len(ev.Records) == 0 {
		t.Errorf("%s: no records", name)
	}
	for i, r := range ev.Records {
		sum := md5.Sum([]byte(r.Body)) //nolint:gosec // G401: the md5OfBody SQS computes
		if got := hex.EncodeToString(sum[:]); r.Md5OfBody != got {
			t.Errorf("%s: Records[%d].md5OfBody = %s, the body's MD5 is %s", name, i, r.Md5OfBody, got)
		}
		if r.EventSource != "aws:sqs" || r.MessageId == "" || r.ReceiptHandle == "" || r.Attributes["ApproximateReceiveCount"] == "" {
			t.Errorf("%s: Records[%d] lacks eventSource aws:sqs, messageId, receiptHandle or ApproximateReceiveCount", name, i)
		}
	}
}

// SetHeader sets a request header the way API Gateway delivers it, in both headers
// and multiValueHeaders (aws-lambda-go-api-proxy reads the latter when present),
// replacing any spelling of the same name.
func SetHeader(req *events.APIGatewayProxyRequest, name, value string) {
	for k := range req.Headers {
		if strings.EqualFold(k, name) {
			delete(req.Headers, k)
		}
	}
	for k := range req.MultiValueHeaders {
		if strings.EqualFold(k, name) {
			delete(req.MultiValueHeaders, k)
		}
	}
	if req.Headers == nil {
		req.Headers = map[string]string{}
	}
	if req.MultiValueHeaders == nil {
		req.MultiValueHeaders = map[string][]string{}
	}
	req.Headers[name] = value
	req.MultiValueHeaders[name] = []string{value}
}

// Header returns a header of an API Gateway response, whichever map carries it.
func Header(resp events.APIGatewayProxyResponse, name string) string {
	for k, v := range resp.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	for k, v := range resp.MultiValueHeaders {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}
