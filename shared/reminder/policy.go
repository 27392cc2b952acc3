package reminder

import (
	"fmt"
	"time"
)

// Step is one reminder of a policy. Offset is elapsed time relative to the visit:
// negative before its start, positive after its end (follow-ups).
type Step struct {
	Kind     Kind          `json:"kind"`
	Offset   time.Duration `json:"offset"`
	Template string        `json:"template"`
}

// Policy is a clinic's reminder plan.
type Policy struct {
	Steps []Step `json:"steps"`
	// RecallAfter schedules recall_due notices after fulfilled visits, by visit type.
	RecallAfter RecallAfter `json:"recallAfter,omitempty"`
}

// DefaultPolicy is 48 h before, 2 h before and 24 h after a fulfilled visit.
func DefaultPolicy() Policy {
	return Policy{Steps: []Step{
		{Kind: KindDayBefore, Offset: -48 * time.Hour, Template: "appointment_reminder_48h"},
		{Kind: KindSameDay, Offset: -2 * time.Hour, Template: "appointment_reminder_2h"},
		{Kind: KindFollowUp, Offset: 24 * time.Hour, Template: "appointment_followup"},
	}}
}

// Validate checks a policy from a clinic file.
func (p Policy) Validate() error {
	seen := map[Kind]bool{}
	for _, s := range p.Steps {
		switch s.Kind {
		case KindDayBefore, KindSameDay:
			if s.Offset >= 0 {
				return fmt.Errorf("reminder: %s offset must be before the visit (negative)", s.Kind)
			}
		case KindFollowUp:
			if s.Offset <= 0 {
				return fmt.Errorf("reminder: %s offset must be after the visit (positive)", s.Kind)
			}
		default:
			return fmt.Errorf("reminder: unknown kind %q", s.Kind)
		}
		if seen[s.Kind] {
			return fmt.Errorf("reminder: kind %s appears twice", s.Kind)
		}
		seen[s.Kind] = true
	}
	return p.RecallAfter.Validate()
}

// QuietHours is a local wall-clock range in which no reminder is sent. It may wrap
// midnight (Start 21:00, End 08:00). Equal Start and End means no quiet hours.
type QuietHours struct {
	Start string `json:"start"` // "HH:MM"
	End   string `json:"end"`   // "HH:MM"
}
