package ehr

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// OpenAPI is the OpenAPI 3.1 document of the EHR API (and the WhatsApp webhook that
// shares its HTTP front door), served at GET /openapi.yaml. The router's test
// compares its routes with Routes(), so the document cannot drift from the code.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Route is one operation of the document.
type Route struct {
	Method string // upper case: GET, PUT, POST, ...
	Path   string // as in the document: /v1/clinics/{clinicId}/fhir
}

func (r Route) String() string { return r.Method + " " + r.Path }

// Routes lists every operation declared in OpenAPI, sorted by path then method.
func Routes() ([]Route, error) {
	var doc struct {
		OpenAPI string                          `yaml:"openapi"`
		Paths   map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		return nil, fmt.Errorf("ehr: parse openapi.yaml: %w", err)
	}
	methods := map[string]bool{"get": true, "put": true, "post": true, "delete": true, "patch": true, "head": true, "options": true, "trace": true}
	var out []Route
	for path, item := range doc.Paths {
		// Path items also hold "parameters", "summary" and so on; only HTTP methods
		// are operations.
		for key := range item {
			if methods[key] {
				out = append(out, Route{Method: strings.ToUpper(key), Path: path})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out, nil
}
