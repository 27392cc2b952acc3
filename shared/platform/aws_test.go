package platform

import (
	"context"
	"testing"
)

func TestAWSConfigFromTheFunctionsEnvironment(t *testing.T) {
	cases := []struct {
		name       string
		env        map[string]string
		wantErr    bool
		wantRegion string
		wantKey    string
		wantToken  string
	}{
		{name: "lambda runtime variables", wantRegion: "eu-west-1", wantKey: "AKIDEXAMPLE", wantToken: "session",
			env: map[string]string{envRegion: "eu-west-1", roleEnv.keyID: "AKIDEXAMPLE", roleEnv.secretKey: "secret", roleEnv.sessionToken: "session"}},
		{name: "default region as a fallback", wantRegion: "eu-central-1", wantKey: "AKIDEXAMPLE",
			env: map[string]string{envDefaultRegion: "eu-central-1", roleEnv.keyID: "AKIDEXAMPLE", roleEnv.secretKey: "secret"}},
		{name: "local endpoints need no account", wantRegion: LocalRegion, wantKey: "local",
			env: map[string]string{EnvDynamoEndpoint: "http://127.0.0.1:8000"}},
		{name: "local endpoints win over real credentials", wantRegion: LocalRegion, wantKey: "local",
			env: map[string]string{EnvSQSEndpoint: "http://127.0.0.1:5000", envRegion: "eu-west-1", roleEnv.keyID: "AKIDEXAMPLE", roleEnv.secretKey: "secret"}},
		{name: "no region", wantErr: true, env: map[string]string{roleEnv.keyID: "AKIDEXAMPLE", roleEnv.secretKey: "secret"}},
		{name: "no credentials", wantErr: true, env: map[string]string{envRegion: "eu-west-1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, k := range []string{envRegion, envDefaultRegion, roleEnv.keyID, roleEnv.secretKey, roleEnv.sessionToken, EnvDynamoEndpoint, EnvSQSEndpoint} {
				t.Setenv(k, c.env[k])
			}
			cfg, err := AWSConfig(context.Background())
			if (err != nil) != c.wantErr {
				t.Fatalf("error %v, want error: %v", err, c.wantErr)
			}
			if c.wantErr {
				return
			}
			creds, err := cfg.Credentials.Retrieve(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Region != c.wantRegion || creds.AccessKeyID != c.wantKey || creds.SessionToken != c.wantToken {
				t.Errorf("region %q key %q token %q, want %q %q %q", cfg.Region, creds.AccessKeyID, creds.SessionToken,
					c.wantRegion, c.wantKey, c.wantToken)
			}
		})
	}
}
