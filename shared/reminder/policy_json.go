package reminder

import (
	"encoding/json"
	"fmt"
	"time"
)

// stepJSON is how a step reads in a clinic file: offsets as Go durations ("-48h",
// "24h"), which ops can read, rather than nanoseconds.
type stepJSON struct {
	Kind     Kind   `json:"kind"`
	Offset   string `json:"offset"`
	Template string `json:"template,omitempty"`
}

// MarshalJSON writes the offset as a duration string.
func (s Step) MarshalJSON() ([]byte, error) {
	return json.Marshal(stepJSON{Kind: s.Kind, Offset: s.Offset.String(), Template: s.Template})
}

// UnmarshalJSON reads the offset as a duration string.
func (s *Step) UnmarshalJSON(b []byte) error {
	var j stepJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	d, err := time.ParseDuration(j.Offset)
	if err != nil {
		return fmt.Errorf("reminder: step %s offset %q: %w", j.Kind, j.Offset, err)
	}
	*s = Step{Kind: j.Kind, Offset: d, Template: j.Template}
	return nil
}
