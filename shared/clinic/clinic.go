// Package clinic is a tenant's configuration: who the clinic is on WhatsApp, its
// time zone and hours, and how it wants reminders sent. Pure Go.
package clinic

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/metrics"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// Hours are the clinic's staffed hours, local wall clock, used to tell a patient
// when staff will answer. Days are Go weekdays (0 = Sunday).
type Hours struct {
	Days  []time.Weekday `json:"days"`
	Open  string         `json:"open"`  // "HH:MM"
	Close string         `json:"close"` // "HH:MM"
}

// Clinic is one tenant.
type Clinic struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	TimeZone      string `json:"timeZone"` // IANA
	Country       string `json:"country"`  // ISO 3166-1 alpha-2, for national phone numbers
	PhoneNumberID string `json:"phoneNumberId"`
	WABAID        string `json:"wabaId"`
	// BusinessPortfolioID is the Meta business portfolio that owns the WABA. A
	// WhatsApp user's business-scoped user id (BSUID) is only valid inside one
	// portfolio, so stored BSUIDs carry it and are used only while it matches.
	BusinessPortfolioID string              `json:"businessPortfolioId,omitempty"`
	DefaultLanguage     string              `json:"defaultLanguage"` // BCP 47
	QuietHours          reminder.QuietHours `json:"quietHours"`
	Hours               Hours               `json:"hours"`
	ReminderPolicy      reminder.Policy     `json:"reminderPolicy"`
	EmergencyNumber     string              `json:"emergencyNumber"`
	CallbackURL         string              `json:"callbackUrl,omitempty"`
	// WebhookSecretRef names where the clinic's Standard Webhooks "whsec_" secret lives:
	// a Secrets Manager ARN, or "env:NAME" for local development. It signs both
	// directions: the EHR's requests to Frontdesk and Frontdesk's callbacks.
	WebhookSecretRef string `json:"webhookSecretRef"`
	// APITokenHash is the hex SHA-256 of the clinic's bearer token for reads.
	APITokenHash string `json:"apiTokenHash,omitempty"`
	// APITokenSecretRef, when set, names a secret holding the token instead.
	APITokenSecretRef string `json:"apiTokenSecretRef,omitempty"`
	// WriteTokenHash is the hex SHA-256 of the clinic's bearer token for writes
	// (FHIR pushes from servers that send a fixed header instead of a signature).
	// A clinic without one may still push with its read token, logged as
	// deprecated, so Subscriptions set up before tokens were scoped keep working.
	WriteTokenHash string `json:"writeTokenHash,omitempty"`
	// WriteTokenSecretRef, when set, names a secret holding the write token instead.
	WriteTokenSecretRef string `json:"writeTokenSecretRef,omitempty"`
	// MessagesPerSecond is the number's send budget when Meta granted it more than
	// the default (0: the deployment's WHATSAPP_MESSAGES_PER_SECOND).
	MessagesPerSecond int `json:"messagesPerSecond,omitempty"`
	// ConversationRetentionDays is how long conversation threads (message text) are
	// kept; 0 means the default of 90 days.
	ConversationRetentionDays int `json:"conversationRetentionDays,omitempty"`
	// RateCard prices the clinic's WhatsApp messages in its metrics; nil uses
	// metrics.DefaultRateCard.
	RateCard *metrics.RateCard `json:"rateCard,omitempty"`
	// PortalURL and Phone are where a notice tells the patient to get what is
	// ready (results, a prescription, a document) or to book a recall: notices
	// never carry the thing itself. PortalURL wins when both are set.
	PortalURL string `json:"portalUrl,omitempty"`
	Phone     string `json:"phone,omitempty"`
	// Feedback is when a fulfilled visit's 1-5 question goes out: "" (off) or a
	// delay after the visit such as "3h".
	FeedbackAfter string `json:"feedbackAfter,omitempty"`
	// Waitlist tunes rescheduling to published slots and waitlist offers.
	Waitlist WaitlistSettings `json:"waitlist,omitzero"`
}

// NoticeContact is the portal link or phone a notice points to, "" when the clinic
// file has neither (notices are then refused).
func (c Clinic) NoticeContact() string {
	if c.PortalURL != "" {
		return c.PortalURL
	}
	return c.Phone
}

// FeedbackDelay is the configured delay of the post-visit question; ok is false when off.
func (c Clinic) FeedbackDelay() (d time.Duration, ok bool) {
	if c.FeedbackAfter == "" {
		return 0, false
	}
	d, err := time.ParseDuration(c.FeedbackAfter)
	if err != nil || d <= 0 {
		return 0, false
	}
	return d, true
}

// MaxFeedbackDelay bounds the post-visit question: a week later nobody remembers the visit.
const MaxFeedbackDelay = 7 * 24 * time.Hour

// PortfolioScope names the scope the clinic's BSUIDs belong to: its business
// portfolio, or its WABA while the portfolio is not configured (a WABA belongs to
// one portfolio, so this never joins two portfolios; it only stops recognising
// BSUIDs stored under the WABA once the portfolio is set).
func (c Clinic) PortfolioScope() string {
	if c.BusinessPortfolioID != "" {
		return "portfolio:" + c.BusinessPortfolioID
	}
	return "waba:" + c.WABAID
}

// ValidID reports whether id can be a clinic id. The API checks path ids with it
// before any lookup: ids become parts of storage keys.
func ValidID(id string) bool { return idPattern.MatchString(id) }

var (
	idPattern    = newLazyRegexp(`^[a-z0-9][a-z0-9-]{1,62}$`)
	hhmm         = newLazyRegexp(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
	digits       = newLazyRegexp(`^[0-9]{5,20}$`)
	country      = newLazyRegexp(`^[A-Z]{2}$`)
	emergencyNum = newLazyRegexp(`^\+?[0-9 ()-]{2,20}$`)
	phone        = newLazyRegexp(`^\+?[0-9][0-9 ()-]{5,24}$`)
)

// lazyRegexp compiles on first use: onboarding validates clinics and the Lambdas
// only read them, so a cold start need not compile these.
type lazyRegexp struct{ compiled func() *regexp.Regexp }

func newLazyRegexp(expr string) lazyRegexp {
	return lazyRegexp{sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })}
}

func (l lazyRegexp) MatchString(s string) bool { return l.compiled().MatchString(s) }

// Location loads the clinic's time zone.
func (c Clinic) Location() (*time.Location, error) {
	if c.TimeZone == "" {
		return nil, errors.New("clinic: time zone is required")
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("clinic: time zone %q: %w", c.TimeZone, err)
	}
	return loc, nil
}

// Validate returns every problem with a clinic file at once.
func (c Clinic) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if !idPattern.MatchString(c.ID) {
		bad("id %q must be 2-63 lowercase letters, digits or dashes", c.ID)
	}
	if strings.TrimSpace(c.Name) == "" {
		bad("name is required")
	}
	if _, err := c.Location(); err != nil {
		bad("timeZone: %v", err)
	}
	if !country.MatchString(c.Country) {
		bad("country %q must be an ISO 3166-1 alpha-2 code such as US", c.Country)
	}
	if !digits.MatchString(c.PhoneNumberID) {
		bad("phoneNumberId %q must be the WhatsApp phone number id (digits)", c.PhoneNumberID)
	}
	if !digits.MatchString(c.WABAID) {
		bad("wabaId %q must be the WhatsApp Business Account id (digits)", c.WABAID)
	}
	if c.BusinessPortfolioID != "" && !digits.MatchString(c.BusinessPortfolioID) {
		bad("businessPortfolioId %q must be the Meta business portfolio id (digits)", c.BusinessPortfolioID)
	}
	if c.DefaultLanguage == "" {
		bad("defaultLanguage is required")
	}
	if c.QuietHours != (reminder.QuietHours{}) && (!hhmm.MatchString(c.QuietHours.Start) || !hhmm.MatchString(c.QuietHours.End)) {
		bad("quietHours start and end must be HH:MM")
	}
	if len(c.Hours.Days) > 0 && (!hhmm.MatchString(c.Hours.Open) || !hhmm.MatchString(c.Hours.Close)) {
		bad("hours open and close must be HH:MM")
	}
	if err := c.ReminderPolicy.Validate(); err != nil {
		bad("reminderPolicy: %v", err)
	}
	if !emergencyNum.MatchString(c.EmergencyNumber) {
		bad("emergencyNumber %q is required (digits, +, spaces)", c.EmergencyNumber)
	}
	if c.CallbackURL != "" {
		u, err := url.Parse(c.CallbackURL)
		if err != nil || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) || u.Host == "" {
			bad("callbackUrl must be an https URL (http only for loopback)")
		}
	}
	if c.WebhookSecretRef == "" || !(strings.HasPrefix(c.WebhookSecretRef, "arn:") || strings.HasPrefix(c.WebhookSecretRef, "env:")) {
		bad("webhookSecretRef must be a Secrets Manager ARN or env:NAME")
	}
	if c.APITokenHash == "" && c.APITokenSecretRef == "" {
		bad("apiTokenHash or apiTokenSecretRef is required")
	}
	if c.ConversationRetentionDays < 0 || c.ConversationRetentionDays > 3650 {
		bad("conversationRetentionDays %d must be 1-3650 days, or absent for the default of 90", c.ConversationRetentionDays)
	}
	if c.RateCard != nil {
		if err := c.RateCard.Validate(); err != nil {
			bad("%v", err)
		}
	}
	if c.PortalURL != "" {
		u, err := url.Parse(c.PortalURL)
		// A query or fragment could carry a patient or document id into a message.
		if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || len(c.PortalURL) > 200 {
			bad("portalUrl must be an https URL without query, fragment or credentials, at most 200 characters")
		}
	}
	if c.Phone != "" && !phone.MatchString(c.Phone) {
		bad("phone %q must be a phone number (digits, +, spaces, parentheses, dashes)", c.Phone)
	}
	if c.FeedbackAfter != "" {
		if d, err := time.ParseDuration(c.FeedbackAfter); err != nil || d <= 0 || d > MaxFeedbackDelay {
			bad("feedbackAfter %q must be a duration from 1s to 168h such as 3h (empty: off)", c.FeedbackAfter)
		}
	}
	if err := c.Waitlist.Validate(); err != nil {
		bad("waitlist: %v", err)
	}
	if c.WriteTokenHash != "" && strings.EqualFold(c.WriteTokenHash, c.APITokenHash) {
		bad("writeTokenHash must differ from apiTokenHash: one token for both scopes is no scope")
	}
	return errors.Join(errs...)
}

func isLoopback(host string) bool { return host == "127.0.0.1" || host == "localhost" || host == "::1" }
