package ehr

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// The FHIR formats are decoded with encoding/json into Go types, which stops at the
// first type mismatch; these checks walk the JSON against the Go type instead, so
// that, like the native API's strict decoding, one answer lists every problem.

var rawMessageType = reflect.TypeOf(json.RawMessage(nil))

// typeProblems reports where raw does not have the JSON shape of t.
func typeProblems(raw json.RawMessage, t reflect.Type, path string, p *problems) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == rawMessageType || isNull(raw) {
		return
	}
	kind := jsonKind(raw)
	switch t.Kind() {
	case reflect.Struct:
		var fields map[string]json.RawMessage
		if kind != "object" || json.Unmarshal(raw, &fields) != nil {
			p.add(path, "must be an object, got %s", kind)
			return
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if v, ok := fields[name]; ok && name != "" {
				typeProblems(v, f.Type, path+"."+name, p)
			}
		}
	case reflect.Slice:
		var items []json.RawMessage
		if kind != "array" || json.Unmarshal(raw, &items) != nil {
			p.add(path, "must be an array, got %s", kind)
			return
		}
		for i, it := range items {
			typeProblems(it, t.Elem(), fmt.Sprintf("%s[%d]", path, i), p)
		}
	case reflect.String:
		if kind != "string" {
			p.add(path, "must be a string, got %s", kind)
		}
	case reflect.Bool:
		if kind != "boolean" {
			p.add(path, "must be a boolean, got %s", kind)
		}
	case reflect.Int64, reflect.Int:
		if kind != "number" {
			p.add(path, "must be an integer, got %s", kind)
		} else if _, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64); err != nil {
			p.add(path, "must be an integer")
		}
	}
}
