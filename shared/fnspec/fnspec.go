// Package fnspec describes the Lambda functions once, without the CDK: their names,
// memory, timeouts, reserved concurrency, the environment each reads, and the
// values every function must agree on (the Graph API version, the sweep's shard
// count, the sender's pacing). The CDK stack deploys from it, the wiring reads its
// defaults from it and the benchmarks price and run the functions by it, so none of
// them keeps a copy in step by hand.
package fnspec

import (
	"time"

	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// Function names: one Lambda per directory under functions/, built by `make build`
// into <asset root>/<name>/bootstrap.
const (
	EHRAPI          = "ehr-api"
	WhatsAppWebhook = "whatsapp-webhook"
	ReminderSweep   = "reminder-sweep"
	Sender          = "sender"
	Inbound         = "inbound"
	EHRNotifier     = "ehr-notifier"
)

// Values every function and the stack must agree on.
const (
	// SweepShards spreads the due index over this many partition keys so a busy
	// minute does not concentrate on one partition. The writers (ehr-api, inbound)
	// place scheduled reminders in shards 0..N-1 and the sweep reads them all, so
	// a reminder written with one count and swept with another would never be found.
	SweepShards = 8

	WhatsAppAPIBaseURL = "https://graph.facebook.com"
	WhatsAppAPIVersion = whatsapp.DefaultVersion

	// Sender pacing: WhatsApp allows 80 messages/s per business number by default.
	// Every send takes a slot of its number's budget in DynamoDB, so the limit holds
	// however many sender instances run. SenderConcurrency is sized so that one
	// clinic's backlog (its jobs waiting up to 750 ms for their budget window) leaves
	// instances free for other clinics' jobs: the fairness benchmark kept another
	// clinic's delays within 1.2x of its idle figures at 16, not at 4 or 8.
	MessagesPerSecond = 80
	SenderConcurrency = 16

	// EnvAPIStageName tells the HTTP functions which stage prefix to strip if a
	// request path carries it (see httpapi.StripStage).
	EnvAPIStageName = "API_STAGE_NAME"
	// EnvFunctionName is set by the Lambda runtime; the sender finds its own event
	// source mapping by it.
	EnvFunctionName = "AWS_LAMBDA_FUNCTION_NAME"
	// EnvLogDigestKeySecretARN names the Secrets Manager secret holding the
	// deployment's log digest key (platform.EnvLogDigestKey carries it locally).
	EnvLogDigestKeySecretARN = platform.EnvLogDigestKey + "_SECRET_ARN"
)

// Console environment (ehr-api). The console is on when CONSOLE_OIDC_ISSUER is set;
// the stack sets these only where it deploys the console (infra/console.go), so
// they are not in the ehr-api's Env list.
const (
	EnvConsoleBaseURL      = "CONSOLE_BASE_URL"       // https://api.example.org, or the execute-api URL with the stage
	EnvConsoleIssuer       = "CONSOLE_OIDC_ISSUER"    // e.g. https://cognito-idp.<region>.amazonaws.com/<pool id>
	EnvConsoleClientID     = "CONSOLE_OIDC_CLIENT_ID" // the app client (public, PKCE)
	EnvConsoleClientSecret = "CONSOLE_OIDC_CLIENT_SECRET"
	EnvConsoleGroupsClaim  = "CONSOLE_OIDC_GROUPS_CLAIM" // default cognito:groups
	EnvConsoleLogoutURL    = "CONSOLE_LOGOUT_URL"        // the IdP's logout endpoint, optional
)

// Spec is what differs between the functions, apart from their AWS resources.
type Spec struct {
	Name        string
	Description string
	// Timeout is zero for a queue consumer: it takes the ConsumerTimeout of the
	// queue it consumes (shared/queue), which sizes that queue's visibility timeout.
	Timeout  time.Duration
	MemoryMB int
	// Reserved concurrency is set on every function on purpose: it caps what one
	// function can take from the account pool and what it can push downstream
	// (the sender's cap is what splits WhatsApp's per-number throughput).
	Reserved int
	// Env names the variables the function reads besides the ones every function
	// reads (Common); the stack sets each of them.
	Env []string
}

// Common is read by every function: the store's tables and shard count, and the
// secret holding the log digest key.
var Common = []string{platform.EnvTablePrefix, platform.EnvSweepShards, EnvLogDigestKeySecretARN}

// Specs lists every function in a stable order.
func Specs() []Spec {
	return []Spec{
		{Name: EHRAPI, Description: "EHR API: appointments in, FHIR and native JSON",
			Timeout: 10 * time.Second, MemoryMB: 512, Reserved: 20,
			// The EHR outbox: a notice that cannot be sent is reported to the clinic;
			// the outbound queue carries notices.
			Env: []string{EnvAPIStageName, platform.EnvEHROutboxQueueURL, platform.EnvOutboundQueueURL,
				platform.EnvWhatsAppAccessTokenSecretARN, platform.EnvWhatsAppAPIBaseURL, platform.EnvWhatsAppAPIVersion}},
		{Name: WhatsAppWebhook, Description: "WhatsApp webhook: verify, check signature, enqueue",
			Timeout: 10 * time.Second, MemoryMB: 256, Reserved: 20,
			Env: []string{platform.EnvInboundQueueURL, EnvAPIStageName,
				platform.EnvWhatsAppAppSecretSecretARN, platform.EnvWhatsAppVerifyTokenSecretARN}},
		// One sweep at a time: overlapping sweeps would only contend on the same
		// conditional writes; the schedule fires every minute anyway.
		// The EHR outbox: a due notice that cannot be sent is reported to the clinic.
		{Name: ReminderSweep, Description: "Every minute: enqueue due reminders and notices, offer freed slots",
			Timeout: 50 * time.Second, MemoryMB: 256, Reserved: 1,
			// The waitlist step posts lapsed holds to the clinic (the EHR outbox).
			Env: []string{platform.EnvOutboundQueueURL, platform.EnvEHROutboxQueueURL}},
		{Name: Sender, Description: "Sends reminders through the WhatsApp Cloud API",
			MemoryMB: 256, Reserved: SenderConcurrency,
			Env: []string{platform.EnvOutboundQueueURL, platform.EnvEHROutboxQueueURL,
				platform.EnvWhatsAppAccessTokenSecretARN, platform.EnvWhatsAppAPIBaseURL, platform.EnvWhatsAppAPIVersion,
				platform.EnvMessagesPerSecond, platform.EnvSenderConcurrency}},
		{Name: Inbound, Description: "Handles patient replies, keywords and statuses",
			MemoryMB: 256, Reserved: 10,
			// Replies take their number's send budget like the sender's jobs.
			Env: []string{platform.EnvInboundQueueURL, platform.EnvEHROutboxQueueURL, platform.EnvOutboundQueueURL,
				platform.EnvWhatsAppAccessTokenSecretARN, platform.EnvWhatsAppAPIBaseURL, platform.EnvWhatsAppAPIVersion,
				platform.EnvMessagesPerSecond, platform.EnvConversationAlertTopicARN}},
		{Name: EHRNotifier, Description: "Delivers signed callbacks to clinics",
			MemoryMB: 256, Reserved: 5,
			Env: []string{platform.EnvEHROutboxQueueURL}},
	}
}

// Names lists every function's name in the order of Specs.
func Names() []string {
	var out []string
	for _, s := range Specs() {
		out = append(out, s.Name)
	}
	return out
}

// Lookup returns the named function's spec.
func Lookup(name string) (Spec, bool) {
	for _, s := range Specs() {
		if s.Name == name {
			return s, true
		}
	}
	return Spec{}, false
}
