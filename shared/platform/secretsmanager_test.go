package platform_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/frontdesk-health/frontdesk/shared/platform"
)

func TestSecretsManagerRequestAndAnswers(t *testing.T) {
	const arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:frontdesk/test/x-AbCdEf"
	cases := []struct {
		name    string
		status  int
		answer  string
		want    string
		wantErr string
	}{
		{name: "value", status: 200, answer: `{"ARN":"` + arn + `","Name":"frontdesk/test/x","SecretString":"whsec_test"}`, want: "whsec_test"},
		{name: "binary secret has no string", status: 200, answer: `{"ARN":"` + arn + `","SecretBinary":"AAEC"}`, want: ""},
		{name: "denied", status: 400, answer: `{"__type":"com.amazonaws.secretsmanager#AccessDeniedException","message":"not authorized"}`,
			wantErr: "400 AccessDeniedException: not authorized"},
		{name: "missing", status: 400, answer: `{"__type":"ResourceNotFoundException","Message":"Secrets Manager can't find the specified secret."}`,
			wantErr: "400 ResourceNotFoundException"},
		{name: "garbled", status: 200, answer: `{`, wantErr: "decode answer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got *http.Request
			var body map[string]string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r
				b, _ := io.ReadAll(r.Body)
				_ = json.Unmarshal(b, &body)
				w.Header().Set("Content-Type", "application/x-amz-json-1.1")
				w.WriteHeader(c.status)
				_, _ = io.WriteString(w, c.answer)
			}))
			defer srv.Close()
			sm := platform.NewSecretsManager(aws.Config{Region: "eu-west-1",
				Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
			sm.Endpoint = srv.URL
			sm.Now = func() time.Time { return time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC) }
			v, err := sm.SecretString(context.Background(), arn)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, c.wantErr)
				}
			} else if err != nil || v != c.want {
				t.Fatalf("SecretString = %q, %v; want %q", v, err, c.want)
			}
			if got.Method != http.MethodPost || got.URL.Path != "/" || got.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" ||
				got.Header.Get("Content-Type") != "application/x-amz-json-1.1" || body["SecretId"] != arn {
				t.Errorf("request %s %s target %q type %q body %v", got.Method, got.URL.Path, got.Header.Get("X-Amz-Target"),
					got.Header.Get("Content-Type"), body)
			}
			if a := got.Header.Get("Authorization"); !strings.HasPrefix(a, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/eu-west-1/secretsmanager/aws4_request") {
				t.Errorf("authorization %q: not signed for secretsmanager in eu-west-1", a)
			}
		})
	}
}

func TestSecretsManagerEndpointFollowsTheRegion(t *testing.T) {
	cases := map[string]string{"us-east-1": "https://secretsmanager.us-east-1.amazonaws.com", "cn-north-1": "https://secretsmanager.cn-north-1.amazonaws.com.cn"}
	for region, want := range cases {
		if got := platform.NewSecretsManager(aws.Config{Region: region}).Endpoint; got != want {
			t.Errorf("%s: %s, want %s", region, got, want)
		}
	}
}

// The same call against moto, which speaks Secrets Manager's protocol and checks
// nothing this package wrote by hand is off.
func TestSecretsManagerAgainstMoto(t *testing.T) {
	endpoint := os.Getenv(platform.EnvSQSEndpoint) // moto serves every service on one port
	if endpoint == "" {
		t.Skip("SQS_ENDPOINT (moto) not set: run through scripts/localstack")
	}
	ctx := context.Background()
	cfg := aws.Config{Region: platform.LocalRegion, Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}
	sdk := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(endpoint) })
	name := "frontdesk/test/secretsmanager-" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + time.Now().Format("150405.000000000")
	out, err := sdk.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("whsec_moto")})
	if err != nil {
		t.Fatal(err)
	}
	sm := platform.NewSecretsManager(cfg)
	sm.Endpoint = endpoint
	for _, id := range []string{aws.ToString(out.ARN), name} {
		if v, err := sm.SecretString(ctx, id); err != nil || v != "whsec_moto" {
			t.Errorf("SecretString(%s) = %q, %v", id, v, err)
		}
	}
	if _, err := sm.SecretString(ctx, name+"-missing"); err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Errorf("missing secret: %v, want ResourceNotFoundException", err)
	}
}
