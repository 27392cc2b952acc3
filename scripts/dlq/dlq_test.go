package main

import (
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/reminder"

	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
)

func TestSummaryNeverShowsContactData(t *testing.T) {
	webhook := `{"entry":[{"changes":[{"value":{"contacts":[{"wa_id":"15550100101","profile":{"name":"Ada"}}],"messages":[{"from":"15550100101","text":{"body":"hi"}}]}}]}]}`
	cases := []struct {
		queue, body string
		want        []string
	}{
		{queue.Inbound, webhook, []string{"bytes sha256:"}},
		{queue.Outbound, `{"clinicId":"clinic-a","appointmentId":"a1","kind":"pre2h","generation":"g1","dueAt":"2026-03-02T09:00:00Z"}`,
			[]string{"clinicId=clinic-a", "appointmentId=a1", "kind=pre2h"}},
		{queue.EHROutbox, `{"id":"evt_1","type":"patient.opted_out","clinicId":"clinic-a","data":{"phone":"+15550100101"}}`,
			[]string{"id=evt_1", "type=patient.opted_out"}},
		{queue.Outbound, `{"to":"+15550100101"}`, []string{"bytes sha256:"}},
		{queue.Outbound, `not json +15550100101`, []string{"bytes sha256:"}},
	}
	for _, c := range cases {
		got := summary(c.queue, c.body)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("summary(%s) = %q, want %q in it", c.queue, got, w)
			}
		}
		if strings.Contains(got, "5550100101") || strings.Contains(got, "Ada") || (c.queue == queue.Inbound && strings.Contains(got, "hi")) {
			t.Errorf("summary leaks contact data: %q", got)
		}
	}
}

func TestParseFlags(t *testing.T) {
	cases := []struct {
		args    []string
		wantErr bool
	}{
		{[]string{"-queue", "outbound"}, false},
		{[]string{"-queue", "inbound", "-redrive", "-dry-run", "-max", "5"}, false},
		{[]string{"-queue", "nope"}, true},
		{[]string{}, true},
		{[]string{"-queue", "outbound", "-dry-run"}, true},
	}
	for _, c := range cases {
		if _, err := parseFlags(c.args, &bytes.Buffer{}); (err != nil) != c.wantErr {
			t.Errorf("parseFlags(%v) err = %v, wantErr %v", c.args, err, c.wantErr)
		}
	}
}

func TestListAndRedriveAgainstLocalSQS(t *testing.T) {
	client, urls := localtest.SQS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	body := `{"clinicId":"clinic-a","appointmentId":"a1","kind":"pre2h","generation":"g1"}`
	if err := queue.NewPublisher(client, urls[queue.Outbound+"-dlq"]).Publish(ctx, []queue.Message{{ID: "1", Body: []byte(body)}}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		platform.EnvOutboundQueueURL: urls[queue.Outbound],
		platform.EnvSQSEndpoint:      os.Getenv(platform.EnvSQSEndpoint),
	}
	getenv := func(k string) string { return env[k] }
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"-queue", "outbound"}, "appointmentId=a1"},
		{[]string{"-queue", "outbound", "-redrive", "-dry-run"}, "would move 1 message(s)"},
		{[]string{"-queue", "outbound", "-redrive"}, "moved 1 message(s)"},
		{[]string{"-queue", "outbound"}, "0 message(s) listed"},
	}
	for _, st := range steps {
		var out bytes.Buffer
		if err := run(ctx, st.args, getenv, &out); err != nil {
			t.Fatalf("%v: %v", st.args, err)
		}
		if !strings.Contains(out.String(), st.want) {
			t.Fatalf("%v printed %q, want %q", st.args, out.String(), st.want)
		}
	}
	if err := run(ctx, []string{"-queue", "inbound"}, getenv, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), platform.EnvInboundQueueURL) {
		t.Fatalf("missing URL variable: %v", err)
	}
}

type fakeReminders map[string]reminder.Reminder

func (f fakeReminders) GetReminder(_ context.Context, clinicID, appointmentID string, kind reminder.Kind) (reminder.Reminder, error) {
	r, ok := f[clinicID+"/"+appointmentID+"/"+string(kind)]
	if !ok {
		return reminder.Reminder{}, fault.ErrNotFound
	}
	return r, nil
}

func TestReminderReasonsFillTheListing(t *testing.T) {
	store := fakeReminders{"clinic-a/a1/pre2h": {State: reminder.StateQueued, Reason: "retryable", ErrorCode: 131000}}
	msgs := []queue.DLQMessage{
		{ID: "1", Body: `{"clinicId":"clinic-a","appointmentId":"a1","kind":"pre2h","generation":"g1"}`},
		{ID: "2", Body: `{"clinicId":"clinic-a","appointmentId":"gone","kind":"pre2h"}`},
		{ID: "3", Body: `not json`},
	}
	if err := addReminderReasons(context.Background(), store, msgs); err != nil {
		t.Fatal(err)
	}
	if msgs[0].LastError != "queued: retryable (code 131000)" || msgs[1].LastError != "reminder no longer exists" || msgs[2].LastError != "" {
		t.Fatalf("reasons %q, %q, %q", msgs[0].LastError, msgs[1].LastError, msgs[2].LastError)
	}
}
