package platform

// Environment variables the functions read. The CDK stack sets them and the dev
// runner sets them for the local stack; this list is the contract between the two.
const (
	EnvTablePrefix       = "TABLE_PREFIX" // physical table name = TABLE_PREFIX + logical name
	EnvInboundQueueURL   = "INBOUND_QUEUE_URL"
	EnvOutboundQueueURL  = "OUTBOUND_QUEUE_URL"
	EnvEHROutboxQueueURL = "EHR_OUTBOX_QUEUE_URL"

	EnvWhatsAppAPIBaseURL = "WHATSAPP_API_BASE_URL" // default DefaultWhatsAppAPIBaseURL (the local stand-in)
	EnvWhatsAppAPIVersion = "WHATSAPP_API_VERSION"  // default whatsapp.DefaultVersion
	EnvWhatsAppAPITimeout = "WHATSAPP_API_TIMEOUT"  // one Graph API call, e.g. "10s"; default whatsapp.DefaultTimeout
	// Secrets: in AWS the *_SECRET_ARN variables name Secrets Manager secrets read at
	// cold start; locally the plain variables carry dev-only values.
	EnvWhatsAppAccessToken          = "WHATSAPP_ACCESS_TOKEN"
	EnvWhatsAppAccessTokenSecretARN = "WHATSAPP_ACCESS_TOKEN_SECRET_ARN"
	EnvWhatsAppAppSecret            = "WHATSAPP_APP_SECRET"
	EnvWhatsAppAppSecretSecretARN   = "WHATSAPP_APP_SECRET_SECRET_ARN"
	EnvWhatsAppVerifyToken          = "WHATSAPP_VERIFY_TOKEN"
	EnvWhatsAppVerifyTokenSecretARN = "WHATSAPP_VERIFY_TOKEN_SECRET_ARN"

	EnvMessagesPerSecond  = "WHATSAPP_MESSAGES_PER_SECOND" // per business number, across all sender instances
	EnvSenderConcurrency  = "SENDER_MAX_CONCURRENCY"       // the sender's Lambda concurrency; splits the rate
	EnvSweepShards        = "SWEEP_SHARDS"
	EnvWhatsAppOpenAPIRef = "WHATSAPP_OPENAPI_SPEC"

	// EnvConversationAlertTopicARN names the SNS topic urgent conversations are
	// published to; unset, alerts are log lines (make dev).
	EnvConversationAlertTopicARN = "CONVERSATION_ALERT_TOPIC_ARN"
	// EnvAPIBaseURL makes conversation URLs in callbacks and alerts absolute; unset,
	// they are the route's path.
	EnvAPIBaseURL = "API_BASE_URL"
)

// DefaultWhatsAppAPIBaseURL is the local Graph API stand-in started by `make dev`.
const DefaultWhatsAppAPIBaseURL = "http://127.0.0.1:8089"
