// Package dynamo holds Frontdesk's DynamoDB tables and the repositories over them.
//
// The table definitions in this file are the single source of truth: the local
// stack creates tables from them and the CDK stack declares them from them, so a
// key or index cannot differ between a laptop and production.
package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// AttrType is a DynamoDB key attribute type.
type AttrType string

// Key attribute types.
const (
	String AttrType = "S"
	Number AttrType = "N"
)

// Key is one key attribute.
type Key struct {
	Name string
	Type AttrType
}

// Index is a global secondary index. Projection is ALL unless KeysOnly is set.
type Index struct {
	Name     string
	PK       Key
	SK       *Key
	KeysOnly bool
}

// Table is one table's definition. Name is the logical name; deployments prefix it.
type Table struct {
	Name    string
	PK      Key
	SK      *Key
	Indexes []Index
	// TTLAttribute names the epoch-seconds attribute DynamoDB expires items by; empty for none.
	TTLAttribute string
	// Retention says why this table is separate: each table is one retention class.
	Retention string
}

// Logical table names.
const (
	TableAppointments = "appointments"
	TablePatients     = "patients"
	TableMessages     = "messages"
	TableClinics      = "clinics"
	TableIdempotency  = "idempotency"
	// TableConversations holds conversation threads: message text (PHI) kept for
	// the clinic's retention, then expired.
	TableConversations = "conversations"
	// TableAudit holds who read or answered which conversation; kept for years.
	TableAudit   = "audit"
	TableSlots   = "slots"
	TableMetrics = "metrics"
)

// Index names.
const (
	IndexDue             = "due"              // sparse: reminders waiting to be enqueued
	IndexPatientUpcoming = "patient-upcoming" // a patient's appointments by start time
	IndexPatientPhone    = "patient-phone"    // patient by clinic + E.164 phone (inbound routing)
	IndexPhoneNumberID   = "phone-number-id"  // clinic by WhatsApp phone_number_id
	IndexInbox           = "inbox"            // a clinic's conversations by state, urgency and recency
	IndexSlotStart       = "slot-start"       // a clinic's slots by start, whatever their status
	IndexSlotFree        = "slot-free"        // sparse: a clinic's free slots by start
	IndexNextAttempt     = "next-attempt"     // sparse: queued or sending reminders by when a sender must look again
)

// Attribute names shared by the definitions and the repositories.
const (
	AttrPK            = "pk"
	AttrSK            = "sk"
	AttrDueShard      = "dueShard"
	AttrDueAt         = "dueAt"
	AttrPatientKey    = "patientKey"
	AttrStart         = "start"
	AttrPhoneKey      = "phoneKey"
	AttrPhoneNumberID = "phoneNumberId"
	AttrExpiresAt     = "expiresAt"
	AttrInboxKey      = "inboxKey"
	AttrInboxSort     = "inboxSort"
	AttrSlotClinic    = "slotClinic"
	AttrFreeClinic    = "freeClinic"
	AttrAttemptShard  = "attemptShard"
	AttrNextAttemptAt = "nextAttemptAt"
)

var (
	pk = Key{Name: AttrPK, Type: String}
	sk = &Key{Name: AttrSK, Type: String}
)

// Tables returns every table Frontdesk uses.
func Tables() []Table {
	return []Table{
		{
			Name: TableAppointments, PK: pk, SK: sk,
			Retention: "appointments, their reminder schedule and the patient's response",
			Indexes: []Index{
				{Name: IndexDue, PK: Key{AttrDueShard, String}, SK: &Key{AttrDueAt, Number}},
				{Name: IndexPatientUpcoming, PK: Key{AttrPatientKey, String}, SK: &Key{AttrStart, String}},
				{Name: IndexNextAttempt, PK: Key{AttrAttemptShard, String}, SK: &Key{AttrNextAttemptAt, Number}},
			},
		},
		{
			Name: TablePatients, PK: pk, SK: sk,
			Retention: "patient contact, consent ledger and 24-hour window",
			Indexes: []Index{
				{Name: IndexPatientPhone, PK: Key{AttrPhoneKey, String}},
			},
		},
		{
			Name: TableMessages, PK: pk, SK: sk, TTLAttribute: AttrExpiresAt,
			Retention: "outbound and inbound message log keyed by wamid; expires",
		},
		{
			Name: TableClinics, PK: pk,
			Retention: "tenant configuration",
			Indexes: []Index{
				{Name: IndexPhoneNumberID, PK: Key{AttrPhoneNumberID, String}},
			},
		},
		{
			Name: TableIdempotency, PK: pk, TTLAttribute: AttrExpiresAt,
			Retention: "idempotency keys (webhook ids, send claims); expire after a day",
		},
		{
			Name: TableConversations, PK: pk, SK: sk, TTLAttribute: AttrExpiresAt,
			Retention: "conversation threads with message text; expire after the clinic's retention (default 90 days)",
			Indexes: []Index{
				{Name: IndexInbox, PK: Key{AttrInboxKey, String}, SK: &Key{AttrInboxSort, String}},
			},
		},
		{
			Name: TableAudit, PK: pk, SK: sk, TTLAttribute: AttrExpiresAt,
			Retention: "access log of conversations (who read or answered which, when); kept 7 years",
		},
		{
			// Access patterns (see slots.go): a slot by clinic + id (the EHR's
			// writes); a clinic's slots in a time window (slot-start); a clinic's free
			// slots in a window (slot-free, sparse: a slot is in it only while free,
			// so the search for a slot to offer reads free ones only). A hold is a
			// second item in the slot's partition, so one conditional put makes it
			// the only hold of that slot, and its expiresAt lets TTL clear it.
			Name: TableSlots, PK: pk, SK: sk, TTLAttribute: AttrExpiresAt,
			Retention: "published slots (and holds on them); expire a day after they start",
			Indexes: []Index{
				{Name: IndexSlotStart, PK: Key{AttrSlotClinic, String}, SK: &Key{AttrStart, String}},
				{Name: IndexSlotFree, PK: Key{AttrFreeClinic, String}, SK: &Key{AttrStart, String}},
			},
		},
		{
			// A clinic's counters per local day (a few items per day, read by one
			// query over the days of a report) and the markers that make each
			// event count once (see metrics.go); only the markers expire.
			Name: TableMetrics, PK: pk, SK: sk, TTLAttribute: AttrExpiresAt,
			Retention: "per-clinic daily counters (kept) and their dedupe markers (expire)",
		},
	}
}

// TableNames maps logical names to physical ones.
type TableNames struct {
	Appointments, Patients, Messages, Clinics, Idempotency string
	Conversations, Audit                                   string
	Slots                                                  string
	Metrics                                                string
}

// NamesWithPrefix returns physical table names as "<prefix><logical>".
func NamesWithPrefix(prefix string) TableNames {
	return TableNames{
		Appointments:  prefix + TableAppointments,
		Patients:      prefix + TablePatients,
		Messages:      prefix + TableMessages,
		Clinics:       prefix + TableClinics,
		Idempotency:   prefix + TableIdempotency,
		Conversations: prefix + TableConversations,
		Audit:         prefix + TableAudit,
		Slots:         prefix + TableSlots,
		Metrics:       prefix + TableMetrics,
	}
}

// CreateTableInput converts a definition to the SDK's request (on-demand billing).
func (t Table) CreateTableInput(physicalName string) *dynamodb.CreateTableInput {
	attrs := map[string]AttrType{}
	add := func(k Key) { attrs[k.Name] = k.Type }
	schema := func(p Key, s *Key) []types.KeySchemaElement {
		add(p)
		ks := []types.KeySchemaElement{{AttributeName: aws.String(p.Name), KeyType: types.KeyTypeHash}}
		if s != nil {
			add(*s)
			ks = append(ks, types.KeySchemaElement{AttributeName: aws.String(s.Name), KeyType: types.KeyTypeRange})
		}
		return ks
	}
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(physicalName),
		BillingMode: types.BillingModePayPerRequest,
		KeySchema:   schema(t.PK, t.SK),
	}
	for _, ix := range t.Indexes {
		proj := types.ProjectionTypeAll
		if ix.KeysOnly {
			proj = types.ProjectionTypeKeysOnly
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName:  aws.String(ix.Name),
			KeySchema:  schema(ix.PK, ix.SK),
			Projection: &types.Projection{ProjectionType: proj},
		})
	}
	for _, name := range sortedKeys(attrs) {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(name), AttributeType: types.ScalarAttributeType(attrs[name]),
		})
	}
	return in
}

// CreateTables creates every table (and its TTL setting) with the given name prefix.
// Tables that already exist are left as they are.
func CreateTables(ctx context.Context, client *dynamodb.Client, prefix string) error {
	for _, t := range Tables() {
		name := prefix + t.Name
		_, err := client.CreateTable(ctx, t.CreateTableInput(name))
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) {
			return fmt.Errorf("dynamo: create table %s: %w", name, err)
		}
		if t.TTLAttribute != "" {
			_, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
				TableName: aws.String(name),
				TimeToLiveSpecification: &types.TimeToLiveSpecification{
					AttributeName: aws.String(t.TTLAttribute), Enabled: aws.Bool(true),
				},
			})
			if err != nil && !isTTLAlreadyEnabled(err) {
				return fmt.Errorf("dynamo: enable ttl on %s: %w", name, err)
			}
		}
	}
	return nil
}

func isTTLAlreadyEnabled(err error) bool {
	var ve interface{ ErrorMessage() string }
	return errors.As(err, &ve) && containsFold(ve.ErrorMessage(), "already enabled")
}
