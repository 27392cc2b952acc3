package platform

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// SecretsManager makes Frontdesk's one Secrets Manager call, GetSecretValue, over
// the service's JSON API, signed with SigV4. Every function reads a secret, and
// the SDK's Secrets Manager client costs each cold start its package
// initialisation (schemas and endpoint tables, about a quarter of a millisecond)
// and its size, for a call made once per secret and TTL.
type SecretsManager struct {
	Endpoint    string // https://secretsmanager.<region>.amazonaws.com
	Region      string
	Credentials aws.CredentialsProvider
	HTTP        *http.Client
	Now         func() time.Time
}

var _ SecretGetter = (*SecretsManager)(nil)

// NewSecretsManager talks to Secrets Manager in cfg's region.
func NewSecretsManager(cfg aws.Config) *SecretsManager {
	host := "secretsmanager." + cfg.Region + ".amazonaws.com"
	if strings.HasPrefix(cfg.Region, "cn-") {
		host += ".cn"
	}
	return &SecretsManager{Endpoint: "https://" + host, Region: cfg.Region, Credentials: cfg.Credentials,
		HTTP: &http.Client{Timeout: 10 * time.Second}, Now: time.Now}
}

// SecretString returns the current SecretString of the secret id (an ARN or name).
func (m *SecretsManager) SecretString(ctx context.Context, id string) (string, error) {
	body, err := json.Marshal(struct {
		SecretID string `json:"SecretId"`
	}{id})
	if err != nil {
		return "", fmt.Errorf("secretsmanager: encode request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.Endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("secretsmanager: request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	if m.Credentials == nil {
		return "", fmt.Errorf("secretsmanager: no credentials")
	}
	creds, err := m.Credentials.Retrieve(ctx)
	if err != nil {
		return "", fmt.Errorf("secretsmanager: credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "secretsmanager", m.Region, now()); err != nil {
		return "", fmt.Errorf("secretsmanager: sign: %w", err)
	}
	client := m.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("secretsmanager: GetSecretValue: %w", err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("secretsmanager: read answer: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		// The error type and message name the problem; neither carries the value.
		var apiErr struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
			Msg     string `json:"Message"`
		}
		_ = json.Unmarshal(data, &apiErr)
		typ := apiErr.Type[strings.LastIndex(apiErr.Type, "#")+1:]
		return "", fmt.Errorf("secretsmanager: GetSecretValue: %d %s: %s", res.StatusCode, typ, apiErr.Message+apiErr.Msg)
	}
	var out struct {
		SecretString *string
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return "", fmt.Errorf("secretsmanager: decode answer: %w", err)
	}
	return aws.ToString(out.SecretString), nil
}
