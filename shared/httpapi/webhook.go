package httpapi

import "github.com/frontdesk-health/frontdesk/shared/httpapi/whatsapphook"

// InboundQueue takes a verified webhook payload; it must be durable when Put returns.
type InboundQueue = whatsapphook.InboundQueue

// Webhook serves Meta's webhook (see package whatsapphook).
type Webhook = whatsapphook.Webhook
