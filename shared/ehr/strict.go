package ehr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// The native API is decoded by walking the JSON by hand instead of with
// json.Decoder.DisallowUnknownFields, because:
//   - DisallowUnknownFields stops at the first unknown field, and the API promises
//     every problem in one answer;
//   - encoding/json matches keys case-insensitively and keeps the last of duplicate
//     keys, so {"status":"booked","Status":"cancelled"} would be read differently by
//     us and by a proxy or log viewer in front of us. Here keys match exactly and a
//     duplicate is an error.

// decodeSingle checks that body is exactly one JSON value and returns it.
func decodeSingle(body []byte, p *problems) (json.RawMessage, bool) {
	if len(bytes.TrimSpace(body)) == 0 {
		p.add("", "body is empty")
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		p.add("", "malformed JSON: %s", jsonErrorDetail(err, body))
		return nil, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		p.add("", "trailing data after the JSON value at offset %d", dec.InputOffset())
		return nil, false
	}
	return raw, true
}

// jsonErrorDetail describes a syntax error without quoting the body (it may hold PHI).
func jsonErrorDetail(err error, body []byte) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("%s at offset %d", syn.Error(), syn.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Sprintf("unexpected end of input at offset %d", len(body))
	}
	return "cannot be decoded"
}

// jsonKind names the JSON type of a raw value for error messages.
func jsonKind(raw json.RawMessage) string {
	s := bytes.TrimSpace(raw)
	if len(s) == 0 {
		return "nothing"
	}
	switch s[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

func isNull(raw json.RawMessage) bool { return jsonKind(raw) == "null" }

// object is a decoded JSON object whose fields are looked up by exact key.
type object struct {
	ptr    string
	fields map[string]json.RawMessage
	order  []string
}

// readObject decodes raw as an object, reporting duplicate keys.
func readObject(raw json.RawMessage, ptr string, p *problems) (*object, bool) {
	if k := jsonKind(raw); k != "object" {
		p.add(ptr, "must be an object, got %s", k)
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // '{'
		p.add(ptr, "malformed object")
		return nil, false
	}
	o := &object{ptr: ptr, fields: map[string]json.RawMessage{}}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			p.add(ptr, "malformed object")
			return nil, false
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			p.add(ptr, "malformed object")
			return nil, false
		}
		if _, dup := o.fields[key]; dup {
			p.add(o.child(key), "duplicate key")
			continue
		}
		o.fields[key] = v
		o.order = append(o.order, key)
	}
	return o, true
}

// child returns the RFC 6901 pointer of a member.
func (o *object) child(key string) string {
	key = strings.ReplaceAll(key, "~", "~0")
	key = strings.ReplaceAll(key, "/", "~1")
	return o.ptr + "/" + key
}

// only reports every member that is not in allowed.
func (o *object) only(p *problems, allowed ...string) {
	for _, k := range o.order {
		known := false
		for _, a := range allowed {
			if k == a {
				known = true
				break
			}
		}
		if !known {
			p.add(o.child(k), "unknown field")
		}
	}
}

// get returns a member; a JSON null counts as absent.
func (o *object) get(key string) (json.RawMessage, bool) {
	v, ok := o.fields[key]
	if !ok || isNull(v) {
		return nil, false
	}
	return v, true
}

// str reads a string member. required adds a problem when it is absent or blank.
func (o *object) str(p *problems, key string, required bool) (string, bool) {
	raw, ok := o.get(key)
	if !ok {
		if required {
			p.add(o.child(key), "is required")
		}
		return "", false
	}
	if k := jsonKind(raw); k != "string" {
		p.add(o.child(key), "must be a string, got %s", k)
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		p.add(o.child(key), "malformed string")
		return "", false
	}
	if required && strings.TrimSpace(s) == "" {
		p.add(o.child(key), "must not be empty")
		return "", false
	}
	return s, true
}

// maxLen adds a problem when s is longer than n bytes.
func (o *object) maxLen(p *problems, key, s string, n int) bool {
	if len(s) > n {
		p.add(o.child(key), "must be at most %d characters", n)
		return false
	}
	return true
}

// integer reads an integer member (5 and 5.0 are both integers, as in JSON Schema).
func (o *object) integer(p *problems, key string, required bool) (int64, bool) {
	raw, ok := o.get(key)
	if !ok {
		if required {
			p.add(o.child(key), "is required")
		}
		return 0, false
	}
	if k := jsonKind(raw); k != "number" {
		p.add(o.child(key), "must be an integer, got %s", k)
		return 0, false
	}
	s := string(bytes.TrimSpace(raw))
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		p.add(o.child(key), "must be an integer")
		return 0, false
	}
	return int64(f), true
}

// boolean reads a boolean member; nil when absent (or null).
func (o *object) boolean(p *problems, key string) *bool {
	raw, ok := o.get(key)
	if !ok {
		return nil
	}
	var b bool
	if k := jsonKind(raw); k != "boolean" || json.Unmarshal(raw, &b) != nil {
		p.add(o.child(key), "must be a boolean, got %s", jsonKind(raw))
		return nil
	}
	return &b
}

// object reads a nested object member.
func (o *object) object(p *problems, key string, required bool) (*object, bool) {
	raw, ok := o.get(key)
	if !ok {
		if required {
			p.add(o.child(key), "is required")
		}
		return nil, false
	}
	return readObject(raw, o.child(key), p)
}

// parseInstant parses an RFC 3339 timestamp that must carry an offset: a local
// time without a zone would be guessed, and a guessed appointment time sends the
// reminder at the wrong hour.
func parseInstant(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		if _, errLocal := time.Parse("2006-01-02T15:04:05", s); errLocal == nil {
			return time.Time{}, fmt.Errorf("must include a UTC offset (e.g. 2025-03-14T09:30:00-05:00 or ...Z)")
		}
		return time.Time{}, fmt.Errorf("must be an RFC 3339 date-time with offset, e.g. 2025-03-14T09:30:00-05:00")
	}
	// Years outside 1..9999 cannot be written back as RFC 3339 and are nonsense here.
	if t.Year() < 1900 || t.Year() > 9999 {
		return time.Time{}, fmt.Errorf("year must be between 1900 and 9999")
	}
	return t, nil
}
