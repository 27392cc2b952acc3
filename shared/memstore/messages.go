package memstore

import (
	"context"
	"fmt"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/messagelog"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// tblMessages maps key(wamid) to a messagelog.Record.
const tblMessages = "messages"

// PutMessage records a message once; false when its wamid is already recorded.
func (s *Store) PutMessage(_ context.Context, m messagelog.Record) (bool, error) {
	op := "put message " + platform.Hash(m.WAMID)
	if m.WAMID == "" {
		return false, invalid(op, "wamid is required")
	}
	defer s.lock()()
	if m.CreatedAt.IsZero() {
		m.CreatedAt = s.now()
	}
	if m.UpdatedAt.IsZero() {
		m.UpdatedAt = m.CreatedAt
	}
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	if _, ok := get[messagelog.Record](s, tblMessages, key(m.WAMID)); ok {
		return false, nil
	}
	put(s, tblMessages, key(m.WAMID), m)
	return true, nil
}

// GetMessage returns a recorded message; fault.ErrNotFound when there is none.
func (s *Store) GetMessage(_ context.Context, wamid string) (messagelog.Record, error) {
	defer s.lock()()
	m, ok := get[messagelog.Record](s, tblMessages, key(wamid))
	if !ok {
		return messagelog.Record{}, notFound("get message " + platform.Hash(wamid))
	}
	return m, nil
}

// AdvanceMessage moves a message's status forward (statuses arrive out of order);
// false when its status is already at or past to, fault.ErrNotFound when unknown.
func (s *Store) AdvanceMessage(_ context.Context, wamid string, to messagelog.Status, at time.Time, errorCode int) (bool, error) {
	op := fmt.Sprintf("advance message %s to %s", platform.Hash(wamid), to)
	from := messagelog.AllowedFrom(to)
	if len(from) == 0 {
		return false, nil
	}
	defer s.lock()()
	m, ok := get[messagelog.Record](s, tblMessages, key(wamid))
	if !ok {
		return false, notFound(op)
	}
	allowed := false
	for _, st := range from {
		allowed = allowed || st == m.Status
	}
	if !allowed {
		return false, nil
	}
	m.Status, m.UpdatedAt = to, at.UTC()
	if errorCode != 0 {
		m.ErrorCode = errorCode
	}
	put(s, tblMessages, key(wamid), m)
	return true, nil
}
