// Command logdigest prints the log digest of an identifier (a patient id, a contact
// key, a wamid), so ops can find its log lines: logs carry only keyed digests.
//
//	LOG_DIGEST_KEY=... go run ./scripts/logdigest -id pat-123
//
// The key is the deployment's (the secret named by LOG_DIGEST_KEY_SECRET_ARN in
// AWS; read it with aws secretsmanager get-secret-value).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/frontdesk-health/frontdesk/shared/contact"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

func main() {
	if err := run(os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "logdigest:", err)
		os.Exit(2)
	}
}

func run(args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("logdigest", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	id := fs.String("id", "", "the identifier whose digest to print")
	phone := fs.Bool("phone", false, "the id is a phone number: print the digest of its contact key")
	keyEnv := fs.String("key-env", platform.EnvLogDigestKey, "environment variable holding the deployment's digest key")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *id == "" {
		return errors.New("-id is required")
	}
	key := getenv(*keyEnv)
	if key == "" {
		return fmt.Errorf("%s is not set: a digest without the deployment's key matches nothing", *keyEnv)
	}
	v := *id
	if *phone {
		k, err := contact.KeyOf(v)
		if err != nil {
			return err
		}
		v = k
	}
	_, err := fmt.Fprintln(out, platform.Digest([]byte(key), v))
	return err
}
