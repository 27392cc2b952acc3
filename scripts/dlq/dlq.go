package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/platform/sdkconfig"
	"github.com/frontdesk-health/frontdesk/shared/queue"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// queueEnv maps the logical queue names to the variables holding their URLs.
var queueEnv = map[string]string{
	queue.Inbound:   platform.EnvInboundQueueURL,
	queue.Outbound:  platform.EnvOutboundQueueURL,
	queue.EHROutbox: platform.EnvEHROutboxQueueURL,
}

type options struct {
	queue   string
	redrive bool
	dryRun  bool
	max     int
}

func parseFlags(args []string, out io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("dlq", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.queue, "queue", "", "work queue: inbound, outbound or ehr-outbox")
	fs.BoolVar(&o.redrive, "redrive", false, "move the DLQ's messages back to the work queue")
	fs.BoolVar(&o.dryRun, "dry-run", false, "with -redrive: count what would move, move nothing")
	fs.IntVar(&o.max, "max", 50, "list at most this many messages")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if _, ok := queueEnv[o.queue]; !ok {
		return o, fmt.Errorf("-queue must be one of inbound, outbound, ehr-outbox (got %q)", o.queue)
	}
	if o.dryRun && !o.redrive {
		return o, errors.New("-dry-run only applies with -redrive")
	}
	return o, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	o, err := parseFlags(args, out)
	if err != nil {
		return err
	}
	workURL := getenv(queueEnv[o.queue])
	if workURL == "" {
		return fmt.Errorf("%s is not set", queueEnv[o.queue])
	}
	client, err := newClient(ctx, getenv)
	if err != nil {
		return err
	}
	dlqURL, err := dlqURLFor(ctx, client, workURL)
	if err != nil {
		return err
	}
	if o.redrive {
		n, err := queue.Redrive(ctx, client, dlqURL, workURL, o.dryRun)
		verb := "moved"
		if o.dryRun {
			verb = "would move"
		}
		fmt.Fprintf(out, "%s %d message(s) from %s to %s\n", verb, n, lastElement(dlqURL), lastElement(workURL))
		return err
	}
	msgs, err := queue.ListDLQ(ctx, client, dlqURL, o.max)
	if err != nil {
		return err
	}
	if o.queue == queue.Outbound && getenv(platform.EnvTablePrefix) != "" {
		// A reminder job's reason lives on the reminder: the sender records every
		// failed attempt's error there (SQS cannot change a message's attributes).
		store, err := newStore(ctx, getenv)
		if err != nil {
			return err
		}
		if err := addReminderReasons(ctx, store, msgs); err != nil {
			return err
		}
	}
	printList(out, o.queue, lastElement(dlqURL), msgs)
	return nil
}

// reminderReader is the one store call the listing makes.
type reminderReader interface {
	GetReminder(ctx context.Context, clinicID, appointmentID string, kind reminder.Kind) (reminder.Reminder, error)
}

func addReminderReasons(ctx context.Context, store reminderReader, msgs []queue.DLQMessage) error {
	for i, m := range msgs {
		var job reminder.Job
		if json.Unmarshal([]byte(m.Body), &job) != nil || job.ClinicID == "" {
			continue
		}
		r, err := store.GetReminder(ctx, job.ClinicID, job.AppointmentID, job.Kind)
		if errors.Is(err, fault.ErrNotFound) {
			msgs[i].LastError = "reminder no longer exists"
			continue
		}
		if err != nil {
			return err
		}
		reason := string(r.State)
		if r.Reason != "" {
			reason += ": " + r.Reason
		}
		if r.ErrorCode != 0 {
			reason += fmt.Sprintf(" (code %d)", r.ErrorCode)
		}
		msgs[i].LastError = reason
	}
	return nil
}

func newStore(ctx context.Context, getenv func(string) string) (*dynamo.Store, error) {
	cfg, err := sdkconfig.Load(ctx)
	if err != nil {
		return nil, err
	}
	endpoint := getenv(platform.EnvDynamoEndpoint)
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	return dynamo.NewStore(client, dynamo.NamesWithPrefix(getenv(platform.EnvTablePrefix)), platform.SystemClock{}, 0), nil
}

func newClient(ctx context.Context, getenv func(string) string) (*sqs.Client, error) {
	cfg, err := sdkconfig.Load(ctx)
	if err != nil {
		return nil, err
	}
	endpoint := getenv(platform.EnvSQSEndpoint)
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
}

// dlqURLFor resolves the DLQ by name rather than rewriting the URL, because queue
// URL formats differ between SQS endpoints (and the local one).
func dlqURLFor(ctx context.Context, client *sqs.Client, workURL string) (string, error) {
	name := lastElement(workURL) + "-dlq"
	out, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("resolve DLQ %s: %w", name, err)
	}
	return aws.ToString(out.QueueUrl), nil
}

func lastElement(url string) string {
	url = strings.TrimRight(url, "/")
	return url[strings.LastIndex(url, "/")+1:]
}

func printList(out io.Writer, logical, dlqName string, msgs []queue.DLQMessage) {
	fmt.Fprintf(out, "%s: %d message(s) listed\n", dlqName, len(msgs))
	if len(msgs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRECEIVES\tFIRST SENT\tBODY\tLAST ERROR")
	for _, m := range msgs {
		sent := "-"
		if !m.SentAt.IsZero() {
			sent = m.SentAt.Format(time.RFC3339)
		}
		lastErr := m.LastError
		if lastErr == "" {
			lastErr = "-"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", m.ID, m.ReceiveCount, sent, summary(logical, m.Body), lastErr)
	}
	_ = tw.Flush()
}

// idKeys are the body fields safe to print: reminder jobs and clinic events carry
// ids, kinds and times only. Anything else in a body is left out.
var idKeys = []string{"id", "type", "clinicId", "appointmentId", "kind", "generation", "dueAt"}

// summary describes a body without contact data. Inbound bodies are raw WhatsApp
// webhooks (phone numbers, names, message text), so only their size and a digest
// are shown; the digest lets ops match a message to logs.
func summary(logical, body string) string {
	digest := sha256.Sum256([]byte(body))
	opaque := fmt.Sprintf("%d bytes sha256:%s", len(body), hex.EncodeToString(digest[:6]))
	if logical == queue.Inbound {
		return opaque
	}
	var fields map[string]any
	if err := json.Unmarshal([]byte(body), &fields); err != nil {
		return opaque
	}
	var parts []string
	for _, k := range idKeys {
		if v, ok := fields[k]; ok {
			if s, ok := v.(string); ok {
				parts = append(parts, k+"="+s)
			}
		}
	}
	if len(parts) == 0 {
		return opaque
	}
	return strings.Join(parts, " ")
}
