package notice

import (
	"strconv"
	"strings"
	"time"
)

// Scores run from 1 (poor) to 5 (excellent); 1 and 2 are low and reach staff.
const (
	MinScore = 1
	MaxScore = 5
	LowScore = 2
)

// ParseScore reads a patient's reply to a pending feedback question: a bare digit
// 1-5, optionally with spaces or a trailing full stop. Anything else ("5 stars
// but...") is text for the usual inbox handling, not a score: a number inside a
// sentence may be a date or a count.
func ParseScore(text string) (int, bool) {
	s := strings.TrimSpace(text)
	s = strings.TrimRight(s, ".!")
	s = strings.TrimSpace(s)
	if len(s) != 1 || s[0] < '0'+MinScore || s[0] > '0'+MaxScore {
		return 0, false
	}
	return int(s[0] - '0'), true
}

// Low reports whether a score opens a conversation for staff.
func Low(score int) bool { return score >= MinScore && score <= LowScore }

// ListRowID is the id of a score's row in the interactive list sent inside the
// window; ParseListReply reads it back. The notice id ties the answer to its question.
func ListRowID(noticeID string, score int) string {
	return "fb:" + noticeID + ":" + strconv.Itoa(score)
}

// ParseListReply reads a list reply's row id.
func ParseListReply(id string) (noticeID string, score int, ok bool) {
	rest, found := strings.CutPrefix(id, "fb:")
	if !found {
		return "", 0, false
	}
	nid, digit, found := strings.Cut(rest, ":")
	if !found || !strings.HasPrefix(nid, "ntc_") || len(nid) > 40 {
		return "", 0, false
	}
	sc, ok := ParseScore(digit)
	if !ok || len(digit) != 1 {
		return "", 0, false
	}
	return nid, sc, true
}

// QuestionOpenFor is how long a bare digit counts as the answer to a sent question.
const QuestionOpenFor = 72 * time.Hour

// Pending reports whether n is a feedback question still waiting for its score at now.
func (n Notice) Pending(now time.Time) bool {
	return n.Kind == KindFeedback && (n.State == StateSent || n.State == StateDelivered || n.State == StateRead) &&
		now.Before(n.UpdatedAt.Add(QuestionOpenFor))
}

// DueDateValid checks a recall date against the clinic's local today: a date, not
// in the past, at most two years ahead.
func DueDateValid(s string, now time.Time, loc *time.Location) string {
	d, err := time.ParseInLocation(time.DateOnly, s, loc)
	if err != nil {
		return "must be a date YYYY-MM-DD"
	}
	y, m, day := now.In(loc).Date()
	today := time.Date(y, m, day, 0, 0, 0, 0, loc)
	switch {
	case d.Before(today):
		return "must not be in the past (the clinic's local date)"
	case d.After(today.AddDate(2, 0, 0)):
		return "must be at most two years ahead"
	}
	return ""
}
