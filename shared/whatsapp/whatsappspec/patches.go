package whatsappspec

import (
	"fmt"
	"slices"
	"strings"
)

// Patch fixes one known defect of Meta's published spec; Why says which. Apply
// returns how many places it changed; a patch that finds nothing to change returns
// an error, because then the spec changed and the patch must be revisited rather
// than silently do nothing.
type Patch struct {
	Name  string
	Why   string
	Apply func(doc map[string]any) (changed int, err error)
}

// Patches returns the patches ValidateMessage applies, in order.
func Patches() []Patch {
	return []Patch{
		{
			Name:  "allof-additional-properties",
			Why:   "allOf members carry additionalProperties:false, which rejects the properties of the sibling BaseMessageProperties; moved to unevaluatedProperties:false on the parent",
			Apply: PatchAllOfAdditionalProperties,
		},
		{
			Name:  "language-policy-optional",
			Why:   "TemplateObject.language requires policy; Meta's documentation treats it as optional",
			Apply: PatchLanguagePolicyOptional,
		},
		{
			Name:  "button-index-pattern",
			Why:   "the template button index pattern ^[2-6, 11-14]$ is malformed; Meta's own examples use 0 and 1 (index is one digit, 0-9)",
			Apply: PatchButtonIndexPattern,
		},
		{
			Name:  "recipient-type-optional",
			Why:   "recipient_type is required by the spec; Meta's documentation and its own Send Test Message example omit it",
			Apply: PatchRecipientTypeOptional,
		},
		{
			Name:  "recipient-bsuid",
			Why:   "v23's BaseMessageProperties predates business-scoped user ids: Meta's Messages API now takes `recipient` (a BSUID or parent BSUID) instead of `to` for a user whose number is not known; added as a property, and `to` or `recipient` is required instead of `to`",
			Apply: PatchRecipientBSUID,
		},
		{
			Name:  "messaging-product-whatsapp",
			Why:   "a tightening, not a fix: the spec types messaging_product as any string, but the Cloud API accepts only \"whatsapp\" (as the spec's own MarketingMessageRequestPayload says)",
			Apply: PatchMessagingProductWhatsApp,
		},
	}
}

// ApplyPatches applies every patch to doc, naming the one that failed.
func ApplyPatches(doc map[string]any) error {
	for _, p := range Patches() {
		if _, err := p.Apply(doc); err != nil {
			return fmt.Errorf("whatsappspec: patch %s: %w", p.Name, err)
		}
	}
	return nil
}

// PatchAllOfAdditionalProperties removes additionalProperties:false from inline allOf
// members and puts unevaluatedProperties:false on the schema holding the allOf. In
// JSON Schema additionalProperties only sees its own schema's properties, so a member
// with it rejects everything its siblings define; unevaluatedProperties (2020-12)
// sees every property evaluated by the allOf, which is what the spec's authors meant.
func PatchAllOfAdditionalProperties(doc map[string]any) (int, error) {
	changed := 0
	walk(doc, func(m map[string]any) {
		members, ok := m["allOf"].([]any)
		if !ok {
			return
		}
		moved := false
		for _, member := range members {
			mm, ok := member.(map[string]any)
			if !ok {
				continue
			}
			if ap, ok := mm["additionalProperties"].(bool); ok && !ap {
				delete(mm, "additionalProperties")
				moved = true
			}
		}
		if moved {
			m["unevaluatedProperties"] = false
			changed++
		}
	})
	if changed == 0 {
		return 0, fmt.Errorf("no allOf member with additionalProperties:false found")
	}
	return changed, nil
}

// PatchLanguagePolicyOptional drops `policy` from the required list of the schema
// TemplateObject.language points to.
func PatchLanguagePolicyOptional(doc map[string]any) (int, error) {
	lang, err := resolve(doc, lookup(doc, "components", "schemas", "TemplateObject", "properties", "language"))
	if err != nil {
		return 0, fmt.Errorf("TemplateObject.language: %w", err)
	}
	if !removeRequired(lang, "policy") {
		return 0, fmt.Errorf("TemplateObject.language does not require policy")
	}
	return 1, nil
}

// brokenIndexPattern is the spec's malformed pattern: a character class that matches
// one of "2-6", ",", " ", "1", "-", "4", so "0" (Meta's own examples) fails.
const brokenIndexPattern = "^[2-6, 11-14]$"

// ButtonIndexPattern is what a template button index must match: one digit, because
// a template has at most 10 buttons.
const ButtonIndexPattern = "^[0-9]$"

// PatchButtonIndexPattern replaces the malformed template button index pattern
// wherever it appears (TemplateComponent and ButtonComponent).
func PatchButtonIndexPattern(doc map[string]any) (int, error) {
	changed := 0
	walk(doc, func(m map[string]any) {
		idx, ok := lookup(m, "properties", "index").(map[string]any)
		if !ok {
			return
		}
		if p, _ := idx["pattern"].(string); p == brokenIndexPattern {
			idx["pattern"] = ButtonIndexPattern
			changed++
		}
	})
	if changed == 0 {
		return 0, fmt.Errorf("pattern %q not found", brokenIndexPattern)
	}
	return changed, nil
}

// PatchRecipientTypeOptional drops recipient_type from BaseMessageProperties.required.
func PatchRecipientTypeOptional(doc map[string]any) (int, error) {
	base, ok := lookup(doc, "components", "schemas", "BaseMessageProperties").(map[string]any)
	if !ok {
		return 0, fmt.Errorf("BaseMessageProperties not found")
	}
	if !removeRequired(base, "recipient_type") {
		return 0, fmt.Errorf("BaseMessageProperties does not require recipient_type")
	}
	return 1, nil
}

// PatchRecipientBSUID adds `recipient` to BaseMessageProperties and requires `to` or
// `recipient` rather than `to`.
func PatchRecipientBSUID(doc map[string]any) (int, error) {
	base, ok := lookup(doc, "components", "schemas", "BaseMessageProperties").(map[string]any)
	if !ok {
		return 0, fmt.Errorf("BaseMessageProperties not found")
	}
	props, ok := base["properties"].(map[string]any)
	if !ok {
		return 0, fmt.Errorf("BaseMessageProperties has no properties")
	}
	if _, has := props["recipient"]; has {
		return 0, fmt.Errorf("BaseMessageProperties already has recipient")
	}
	if !removeRequired(base, "to") {
		return 0, fmt.Errorf("BaseMessageProperties does not require to")
	}
	props["recipient"] = map[string]any{
		"type":        "string",
		"description": "The recipient's business-scoped user id (BSUID) or parent BSUID, for a user whose phone number is not known.",
		"pattern":     `^[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]{1,128}$`,
	}
	base["anyOf"] = []any{
		map[string]any{"required": []any{"to"}},
		map[string]any{"required": []any{"recipient"}},
	}
	return 1, nil
}

// PatchMessagingProductWhatsApp restricts BaseMessageProperties.messaging_product to
// "whatsapp" so that a send for another product is caught before Meta rejects it.
func PatchMessagingProductWhatsApp(doc map[string]any) (int, error) {
	mp, ok := lookup(doc, "components", "schemas", "BaseMessageProperties", "properties", "messaging_product").(map[string]any)
	if !ok {
		return 0, fmt.Errorf("BaseMessageProperties.messaging_product not found")
	}
	if _, has := mp["enum"]; has {
		return 0, fmt.Errorf("messaging_product already has an enum")
	}
	mp["enum"] = []any{"whatsapp"}
	return 1, nil
}

// walk calls fn on every object in the tree (depth first).
func walk(v any, fn func(map[string]any)) {
	switch t := v.(type) {
	case map[string]any:
		fn(t)
		for _, c := range t {
			walk(c, fn)
		}
	case []any:
		for _, c := range t {
			walk(c, fn)
		}
	}
}

// resolve follows a local $ref ("#/components/schemas/X") to its target.
func resolve(doc map[string]any, v any) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not an object")
	}
	for range 10 {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m, nil
		}
		ptr, ok := strings.CutPrefix(ref, "#/")
		if !ok {
			return nil, fmt.Errorf("$ref %q is not local", ref)
		}
		keys := strings.Split(ptr, "/")
		for i, k := range keys {
			keys[i] = strings.NewReplacer("~1", "/", "~0", "~").Replace(k)
		}
		m, ok = lookup(doc, keys...).(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %q does not resolve", ref)
		}
	}
	return nil, fmt.Errorf("$ref chain too long")
}

func removeRequired(schema map[string]any, name string) bool {
	req, ok := schema["required"].([]any)
	if !ok {
		return false
	}
	i := slices.Index(req, any(name))
	if i < 0 {
		return false
	}
	schema["required"] = slices.Delete(req, i, i+1)
	return true
}
