package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// mappingAPI is the part of the Lambda API the halter calls.
type mappingAPI interface {
	// MappingUUIDs lists the event source mappings of a function.
	MappingUUIDs(ctx context.Context, function string) ([]string, error)
	// DisableMapping stops one mapping from polling its queue.
	DisableMapping(ctx context.Context, function, uuid string) error
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
	uuids, err := h.client.MappingUUIDs(ctx, h.function)
	if err != nil {
		return fmt.Errorf("sender: list event source mappings of %s: %w", h.function, err)
	}
	if len(uuids) == 0 {
		return errors.New("sender: no event source mapping to disable for " + h.function)
	}
	for _, uuid := range uuids {
		if err := h.client.DisableMapping(ctx, h.function, uuid); err != nil {
			return fmt.Errorf("sender: disable event source mapping %s: %w", uuid, err)
		}
		h.log.Error("sender: event source mapping disabled", "alert", "whatsapp_auth_halt",
			"event_source_mapping", uuid, "reason", reason)
	}
	return nil
}

// lambdaAPI makes the two event source mapping calls of the Lambda REST API,
// signed with SigV4. The SDK's Lambda client is not used: its package
// initialisation and size would cost every cold start of the sender (about
// 0.7 ms of init, the largest of its service clients) for calls made only
// when the WhatsApp token has been rejected.
type lambdaAPI struct {
	endpoint string // https://lambda.<region>.amazonaws.com
	region   string
	creds    aws.CredentialsProvider
	http     *http.Client
	now      func() time.Time
}

var _ mappingAPI = lambdaAPI{}

// newLambdaAPI talks to the Lambda API of cfg's region.
func newLambdaAPI(cfg aws.Config) lambdaAPI {
	host := "lambda." + cfg.Region + ".amazonaws.com"
	if strings.HasPrefix(cfg.Region, "cn-") {
		host += ".cn"
	}
	return lambdaAPI{endpoint: "https://" + host, region: cfg.Region, creds: cfg.Credentials,
		http: &http.Client{Timeout: 10 * time.Second}, now: time.Now}
}

const mappingsPath = "/2015-03-31/event-source-mappings/"

func (c lambdaAPI) MappingUUIDs(ctx context.Context, function string) ([]string, error) {
	var uuids []string
	marker := ""
	for {
		q := url.Values{"FunctionName": {function}}
		if marker != "" {
			q.Set("Marker", marker)
		}
		var out struct {
			EventSourceMappings []struct{ UUID string }
			NextMarker          string
		}
		if err := c.call(ctx, http.MethodGet, mappingsPath+"?"+q.Encode(), nil, &out); err != nil {
			return nil, err
		}
		for _, m := range out.EventSourceMappings {
			uuids = append(uuids, m.UUID)
		}
		if out.NextMarker == "" || out.NextMarker == marker {
			return uuids, nil
		}
		marker = out.NextMarker
	}
}

func (c lambdaAPI) DisableMapping(ctx context.Context, function, uuid string) error {
	body, err := json.Marshal(struct {
		FunctionName string
		Enabled      bool
	}{function, false})
	if err != nil {
		return fmt.Errorf("lambda: encode mapping update: %w", err)
	}
	return c.call(ctx, http.MethodPut, mappingsPath+url.PathEscape(uuid), body, nil)
}

func (c lambdaAPI) call(ctx context.Context, method, pathQuery string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint+pathQuery, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("lambda: %s %s: %w", method, pathQuery, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("lambda: credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "lambda", c.region, c.now()); err != nil {
		return fmt.Errorf("lambda: sign %s %s: %w", method, req.URL.Path, err)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("lambda: %s %s: %w", method, req.URL.Path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("lambda: read %s %s: %w", method, req.URL.Path, err)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		var apiErr struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(data, &apiErr)
		return fmt.Errorf("lambda: %s %s: %d %s: %s", method, req.URL.Path, res.StatusCode,
			res.Header.Get("X-Amzn-ErrorType"), apiErr.Message)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("lambda: decode %s %s: %w", method, req.URL.Path, err)
		}
	}
	return nil
}
