// Package memstore is an in-memory twin of the DynamoDB store (shared/dynamo) for
// service tests: the same methods with the same semantics (conditional writes
// losing with fault.ErrConflict, missing items fault.ErrNotFound, expiry read from
// an injected clock), proved equal by the conformance suite in shared/storetest.
//
// Every method takes one mutex for its whole duration, so each call is atomic the
// way a DynamoDB conditional write or transaction is; there are no goroutines and
// no background expiry: an item past its TTL is treated as absent when read, as
// the DynamoDB store does with its expiry filters.
package memstore

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// Store holds every table as a map from a composite key to a domain value. Each
// area's file owns its tables (named by the tbl* constants beside its methods) and
// reaches them only through the helpers below, so areas never share a map.
type Store struct {
	mu     sync.Mutex
	clock  platform.Clock
	shards int
	tables map[string]map[string]any
}

// New returns an empty Store. shards is how many due-index shards a sweep covers
// (values below 1 mean 1), as for dynamo.NewStore; a nil clock is the system clock.
func New(clock platform.Clock, shards int) *Store {
	if shards < 1 {
		shards = 1
	}
	if clock == nil {
		clock = platform.SystemClock{}
	}
	return &Store{clock: clock, shards: shards, tables: map[string]map[string]any{}}
}

// Shards is the number of due-index shards a sweep must cover.
func (s *Store) Shards() int { return s.shards }

// lock takes the store's mutex and returns its release, for `defer s.lock()()`.
func (s *Store) lock() func() {
	s.mu.Lock()
	return s.mu.Unlock
}

func (s *Store) now() time.Time { return s.clock.Now().UTC() }

// shardOf spreads reminders over shards by their partition key with the same hash
// as the DynamoDB store, so a reminder lands in the same shard in both.
func (s *Store) shardOf(pk string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(pk))
	return int(h.Sum32() % uint32(s.shards)) //nolint:gosec // G115: shards is at least 1 (New) and a small configured count
}

// key joins parts with a separator no identifier contains, so ("a","bc") and
// ("ab","c") stay distinct and a prefix of parts is a prefix of the key.
func key(parts ...string) string { return strings.Join(parts, "\x1f") + "\x1f" }

func (s *Store) table(name string) map[string]any {
	t, ok := s.tables[name]
	if !ok {
		t = map[string]any{}
		s.tables[name] = t
	}
	return t
}

// get reads one item; the caller holds the lock.
func get[T any](s *Store, table, k string) (T, bool) {
	v, ok := s.table(table)[k]
	if !ok {
		var zero T
		return zero, false
	}
	return v.(T), true // each table holds one type, written only by its own area's file
}

// put writes one item; the caller holds the lock. Values are stored by value, so
// a caller's later change to its copy never reaches the store.
func put[T any](s *Store, table, k string, v T) { s.table(table)[k] = v }

func del(s *Store, table, k string) { delete(s.table(table), k) }

// scan lists the items whose key starts with prefix, in key order (the order of a
// DynamoDB query on the sort key); the caller holds the lock.
func scan[T any](s *Store, table, prefix string) []T {
	t := s.table(table)
	keys := make([]string, 0, len(t))
	for k := range t {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := make([]T, 0, len(keys))
	for _, k := range keys {
		out = append(out, t[k].(T)) // each table holds one type
	}
	return out
}

// conflict is a lost conditional write, as the DynamoDB store reports it.
func conflict(op string) error {
	return &fault.Error{Code: fault.Conflict, Op: "memstore: " + op, Msg: "condition failed"}
}

// notFound is a missing item, as the DynamoDB store reports it.
func notFound(op string) error {
	return &fault.Error{Code: fault.NotFound, Op: "memstore: " + op, Msg: "not found"}
}

// invalid is input the DynamoDB store would refuse before writing.
func invalid(op, format string, args ...any) error {
	return &fault.Error{Code: fault.Invalid, Op: "memstore: " + op, Msg: fmt.Sprintf(format, args...)}
}
