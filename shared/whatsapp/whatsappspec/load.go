// Package whatsappspec validates WhatsApp send requests against Meta's own OpenAPI
// description of the Cloud API (whatsapp-business-messaging-openapi-v23.0.yaml), with
// the spec's known defects patched by named, individually tested functions.
//
// The spec is read at run time and never copied into the repository: it lives in
// ../shared/reference beside the repo, or wherever WHATSAPP_OPENAPI_SPEC points
// (`make openapi-spec` downloads it at a pinned commit; see scripts/openapispec).
package whatsappspec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// Spec is Meta's OpenAPI document converted to JSON.
type Spec struct {
	Path string
	json []byte // the unpatched document; Document decodes a fresh copy
}

// Load reads the YAML spec at path and converts it to JSON.
func Load(path string) (*Spec, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("whatsappspec: read spec: %w", err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		return nil, fmt.Errorf("whatsappspec: parse spec %s: %w", path, err)
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, &root, 0); err != nil {
		return nil, fmt.Errorf("whatsappspec: convert spec %s to JSON: %w", path, err)
	}
	return &Spec{Path: path, json: buf.Bytes()}, nil
}

// JSON returns the unpatched document as JSON.
func (s *Spec) JSON() []byte { return bytes.Clone(s.json) }

// Document returns a fresh, mutable copy of the unpatched document, decoded the way
// the schema compiler expects (numbers as json.Number).
func (s *Spec) Document() (map[string]any, error) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(s.json))
	if err != nil {
		return nil, fmt.Errorf("whatsappspec: decode spec: %w", err)
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("whatsappspec: spec is not a JSON object")
	}
	return doc, nil
}

// writeJSON converts a YAML node tree to JSON directly rather than through
// map[string]any because yaml.v3 decodes non-string keys (HTTP status codes such as
// `200:`) into maps encoding/json cannot marshal, and unquoted dates into time.Time.
// Key order is kept, which makes examples read like the spec.
func writeJSON(buf *bytes.Buffer, n *yaml.Node, depth int) error {
	if depth > 200 {
		return errors.New("nesting too deep (alias cycle?)")
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			buf.WriteString("null")
			return nil
		}
		return writeJSON(buf, n.Content[0], depth+1)
	case yaml.AliasNode:
		return writeJSON(buf, n.Alias, depth+1)
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSON(buf, c, depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	case yaml.MappingNode:
		buf.WriteByte('{')
		seen := map[string]bool{}
		first := true
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: non-scalar mapping key", k.Line)
			}
			if seen[k.Value] {
				return fmt.Errorf("line %d: duplicate key %q", k.Line, k.Value)
			}
			seen[k.Value] = true
			if !first {
				buf.WriteByte(',')
			}
			first = false
			kb, _ := json.Marshal(k.Value)
			buf.Write(kb)
			buf.WriteByte(':')
			if err := writeJSON(buf, v, depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
		return nil
	case yaml.ScalarNode:
		return writeScalar(buf, n)
	}
	return fmt.Errorf("line %d: unexpected YAML node kind %v", n.Line, n.Kind)
}

func writeScalar(buf *bytes.Buffer, n *yaml.Node) error {
	switch n.ShortTag() {
	case "!!null":
		buf.WriteString("null")
		return nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		buf.WriteString(strconv.FormatBool(b))
		return nil
	case "!!int":
		var i int64
		if err := n.Decode(&i); err == nil {
			buf.WriteString(strconv.FormatInt(i, 10))
			return nil
		}
		if json.Valid([]byte(n.Value)) { // out of int64 range but still a JSON number
			buf.WriteString(n.Value)
			return nil
		}
		return fmt.Errorf("line %d: integer %q", n.Line, n.Value)
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return fmt.Errorf("line %d: %q has no JSON representation", n.Line, n.Value)
		}
		buf.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
		return nil
	}
	// Strings, and timestamps/binary kept as their text: JSON has no such types.
	b, _ := json.Marshal(n.Value)
	buf.Write(b)
	return nil
}

// Example is one named example payload from the spec.
type Example struct {
	Name string
	JSON json.RawMessage
}

// Path keys in the spec.
const (
	WebhooksPath = "/whatsapp/webhooks"
	MessagesPath = "/{Version}/{Phone-Number-ID}/messages"
)

// Examples returns every example under the given path (all operations, request
// bodies and responses), sorted by name.
func (s *Spec) Examples(path string) ([]Example, error) {
	doc, err := s.Document()
	if err != nil {
		return nil, err
	}
	paths, _ := doc["paths"].(map[string]any)
	item, ok := paths[path].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("whatsappspec: path %s not in spec", path)
	}
	var out []Example
	if err := collectExamples(item, &out); err != nil {
		return nil, fmt.Errorf("whatsappspec: examples of %s: %w", path, err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// RequestExamples returns only the request-body examples of the path's POST: the
// payloads a client sends (for /messages) or Meta posts (for the webhook).
func (s *Spec) RequestExamples(path string) ([]Example, error) {
	doc, err := s.Document()
	if err != nil {
		return nil, err
	}
	examples, ok := lookup(doc, "paths", path, "post", "requestBody", "content", "application/json", "examples").(map[string]any)
	if !ok {
		return nil, fmt.Errorf("whatsappspec: no request examples under %s", path)
	}
	var out []Example
	if err := appendExamples(examples, &out); err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func collectExamples(v any, out *[]Example) error {
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			if ex, ok := c.(map[string]any); ok && k == "examples" {
				if err := appendExamples(ex, out); err != nil {
					return err
				}
				continue
			}
			if err := collectExamples(c, out); err != nil {
				return err
			}
		}
	case []any:
		for _, c := range t {
			if err := collectExamples(c, out); err != nil {
				return err
			}
		}
	}
	return nil
}

func appendExamples(examples map[string]any, out *[]Example) error {
	for name, e := range examples {
		obj, ok := e.(map[string]any)
		if !ok {
			continue
		}
		val, ok := obj["value"]
		if !ok {
			continue // externalValue examples are not in the file
		}
		b, err := json.Marshal(val)
		if err != nil {
			return fmt.Errorf("example %q: %w", name, err)
		}
		*out = append(*out, Example{Name: name, JSON: b})
	}
	return nil
}

func lookup(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
