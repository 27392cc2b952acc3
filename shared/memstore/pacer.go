package memstore

import (
	"context"
	"strconv"
	"time"
)

// Pacing tables: tblPaceWindows maps key(phoneNumberID, window ms) to the sends
// taken in that window; tblPaceLines maps key(phoneNumberID) to the end of the
// number's queue line.
const (
	tblPaceWindows = "pace-windows"
	tblPaceLines   = "pace-lines"
)

// TakeSendSlot takes one of ceiling sends in a number's window; false when the
// window is full.
func (s *Store) TakeSendSlot(_ context.Context, phoneNumberID string, window time.Time, ceiling int) (bool, error) {
	defer s.lock()()
	k := key(phoneNumberID, strconv.FormatInt(window.UnixMilli(), 10))
	n, _ := get[int](s, tblPaceWindows, k)
	if n >= ceiling {
		return false, nil
	}
	put(s, tblPaceWindows, k, n+1)
	return true, nil
}

// TakeQueueSlots reserves n places spacing apart in a number's queue line and
// returns when the first one is: spacing after now when the line is empty, else
// spacing after the line's end.
func (s *Store) TakeQueueSlots(_ context.Context, phoneNumberID string, now time.Time, spacing time.Duration, n int) (time.Time, error) {
	defer s.lock()()
	n = max(n, 1)
	k := key(phoneNumberID)
	end, ok := get[int64](s, tblPaceLines, k)
	if !ok || end < now.UnixNano() {
		put(s, tblPaceLines, k, now.Add(time.Duration(n)*spacing).UnixNano())
		return now.Add(spacing), nil
	}
	put(s, tblPaceLines, k, end+int64(time.Duration(n)*spacing))
	return time.Unix(0, end).UTC().Add(spacing), nil
}
