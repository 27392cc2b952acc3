package whatsapp

import (
	"errors"
	"fmt"
	"net/http"
)

// Class is what the caller must do about a failed send, by the error code Meta
// documents for the Cloud API.
type Class int

// Error classes. The zero value is ClassPermanent so that an unclassified error is
// never retried in a loop.
const (
	ClassPermanent     Class = iota // do not retry; record as failed
	ClassRetryable                  // transient (5xx, timeouts, transport, 131000 ...): bounded backoff, then DLQ
	ClassThroughput                 // 130429: slow the phone number down, retry
	ClassPairRate                   // 131056: delay this recipient only, retry
	ClassRateLimited                // 4, 80007: app/account rate limit, back off, retry
	ClassTemplate                   // 132000/132001/132015/132016: template problem; alert, no retry
	ClassAuth                       // 190 / HTTP 401: token invalid; stop consuming, keep messages
	ClassPolicyBlock                // 368, 131031: stop the clinic's sender, alert
	ClassQuality                    // 131048: spam rate limit; pause the sender, alert
	ClassOutsideWindow              // 131047: 24-hour window closed; send a template instead
	ClassUndeliverable              // 131026: not on WhatsApp; flag the contact
)

var classNames = map[Class]string{
	ClassPermanent: "permanent", ClassRetryable: "retryable", ClassThroughput: "throughput",
	ClassPairRate: "pair_rate", ClassRateLimited: "rate_limited", ClassTemplate: "template",
	ClassAuth: "auth", ClassPolicyBlock: "policy_block", ClassQuality: "quality",
	ClassOutsideWindow: "outside_window", ClassUndeliverable: "undeliverable",
}

// String is the stable name used in logs and stored failure reasons.
func (c Class) String() string {
	if s, ok := classNames[c]; ok {
		return s
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Retryable reports whether the same message may be sent again later (possibly
// after slowing down); the other classes fail the message or halt the sender.
func (c Class) Retryable() bool {
	switch c {
	case ClassRetryable, ClassThroughput, ClassPairRate, ClassRateLimited:
		return true
	}
	return false
}

// Graph error codes the classification depends on.
const (
	CodeAPIUnknown       = 1
	CodeAPIService       = 2
	CodeAPITooManyCalls  = 4
	CodeAccessToken      = 190
	CodePolicyBlock      = 368
	CodeAccountRateLimit = 80007
	CodeThroughput       = 130429
	CodeGenericUser      = 131000
	CodeUnavailable      = 131016
	CodeUndeliverable    = 131026
	CodeAccountLocked    = 131031
	CodeOutsideWindow    = 131047
	CodeSpamRateLimit    = 131048
	CodeMarketingLimit   = 131049
	CodeStoppedMarketing = 131050
	CodeUnsupportedType  = 131051
	CodeMediaTransfer    = 131053
	CodePairRate         = 131056
	CodeTemplateParams   = 132000
	CodeTemplateMissing  = 132001
	CodeTemplatePaused   = 132015
	CodeTemplateDisabled = 132016
	CodeInvalidParameter = 100
)

// ClassifyCode maps a Graph / webhook error code to its class without HTTP context
// (used for `statuses[].errors[].code` of failed status webhooks).
func ClassifyCode(code int) Class {
	switch code {
	case CodeThroughput:
		return ClassThroughput
	case CodePairRate:
		return ClassPairRate
	case CodeAPITooManyCalls, CodeAccountRateLimit:
		return ClassRateLimited
	case CodeSpamRateLimit:
		return ClassQuality
	case CodeOutsideWindow:
		return ClassOutsideWindow
	case CodeUndeliverable:
		return ClassUndeliverable
	case CodeTemplateParams, CodeTemplateMissing, CodeTemplatePaused, CodeTemplateDisabled:
		return ClassTemplate
	case CodeMediaTransfer, CodeGenericUser, CodeUnavailable, CodeAPIService:
		return ClassRetryable
	case CodePolicyBlock, CodeAccountLocked:
		return ClassPolicyBlock
	case CodeAccessToken:
		return ClassAuth
	}
	// 131049, 131050, 131051 and everything unknown: not worth retrying.
	return ClassPermanent
}

// APIError is a Graph API error answer.
type APIError struct {
	Op         string // what was attempted, e.g. "send" or "list templates"
	HTTPStatus int
	Code       int
	Subcode    int
	Type       string
	Message    string
	Details    string // error_data.details: Meta's explanation, safe to log
	FBTraceID  string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("whatsapp: %s: graph error %d", e.Op, e.Code)
	if e.Subcode != 0 {
		s += fmt.Sprintf("/%d", e.Subcode)
	}
	s += fmt.Sprintf(" (HTTP %d, %s): %s", e.HTTPStatus, e.Class(), e.Message)
	if e.Details != "" {
		s += ": " + e.Details
	}
	if e.FBTraceID != "" {
		s += " [fbtrace_id " + e.FBTraceID + "]"
	}
	return s
}

// Class says what to do about the error. A known code wins over the HTTP status
// (Meta answers 130429 with HTTP 400, for example); a 401 is always an auth failure
// because no retry of the message can fix it.
func (e *APIError) Class() Class {
	if e.HTTPStatus == http.StatusUnauthorized {
		return ClassAuth
	}
	if c := ClassifyCode(e.Code); c != ClassPermanent || isKnownPermanent(e.Code) {
		return c
	}
	switch {
	case e.HTTPStatus >= 500:
		return ClassRetryable
	case e.HTTPStatus == http.StatusTooManyRequests:
		return ClassRateLimited
	case e.Code == CodeAPIUnknown:
		// "An unknown error occurred": Meta's advice is to retry.
		return ClassRetryable
	}
	return ClassPermanent
}

func isKnownPermanent(code int) bool {
	switch code {
	case CodeMarketingLimit, CodeStoppedMarketing, CodeUnsupportedType:
		return true
	}
	return false
}

// Classify returns the class of any error returned by Client: an APIError's own
// class, ClassPermanent for a message rejected locally (ErrInvalidMessage), and
// ClassRetryable for everything else (timeouts, connection failures, unreadable
// answers, token lookups that failed), because none of those says the message is bad.
func Classify(err error) Class {
	if err == nil {
		return ClassPermanent
	}
	var apiErr *APIError
	switch {
	case errors.As(err, &apiErr):
		return apiErr.Class()
	case errors.Is(err, ErrInvalidMessage):
		return ClassPermanent
	}
	return ClassRetryable
}
