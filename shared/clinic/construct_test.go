package clinic_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

const clinicImport = "github.com/frontdesk-health/frontdesk/shared/clinic"

// TestEventsAreBuiltByTheirConstructors: outside this package's constructors no
// non-test code writes an Event (or a Raw) literal or gives an event a map as
// data, so each event type keeps the one shape its constructor and the OpenAPI
// document give it.
func TestEventsAreBuiltByTheirConstructors(t *testing.T) {
	root, err := platform.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	var findings []string
	files := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "node_modules", "testdata", "cdk.out", "vendor":
				return filepath.SkipDir
			}
			if strings.HasPrefix(d.Name(), ".") && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		files++
		rel, _ := filepath.Rel(root, path)
		findings = append(findings, eventLiterals(t, path, filepath.ToSlash(rel))...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("walked %d Go files under %s; the repository has far more", files, root)
	}
	for _, f := range findings {
		t.Error(f)
	}
}

// eventLiterals lists the file's Event or Raw literals (outside newEvent and
// Event.UnmarshalJSON in the clinic package) and the maps it assigns to a Data
// field in a file that uses events.
func eventLiterals(t *testing.T, path, rel string) []string {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	inClinic := strings.HasPrefix(rel, "shared/clinic/") && f.Name.Name == "clinic"
	local := ""
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == clinicImport {
			local = "clinic"
			if imp.Name != nil {
				local = imp.Name.Name
			}
		}
	}
	if !inClinic && local == "" {
		return nil
	}
	isEventType := func(e ast.Expr) bool {
		switch e := e.(type) {
		case *ast.Ident:
			return inClinic && (e.Name == "Event" || e.Name == "Raw")
		case *ast.SelectorExpr:
			x, ok := e.X.(*ast.Ident)
			return ok && x.Name == local && (e.Sel.Name == "Event" || e.Sel.Name == "Raw")
		}
		return false
	}
	isMapLiteral := func(e ast.Expr) bool {
		cl, ok := e.(*ast.CompositeLit)
		if !ok {
			return false
		}
		_, isMap := cl.Type.(*ast.MapType)
		return isMap
	}
	var out []string
	report := func(n ast.Node, what string) {
		out = append(out, rel+":"+strconv.Itoa(fset.Position(n.Pos()).Line)+": "+what)
	}
	for _, decl := range f.Decls {
		fn, isFunc := decl.(*ast.FuncDecl)
		if isFunc && inClinic && (fn.Name.Name == "newEvent" || fn.Name.Name == "UnmarshalJSON") {
			continue
		}
		ast.Inspect(decl, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CompositeLit:
				// A zero Event (an error's return value) carries nothing to shape.
				if n.Type != nil && isEventType(n.Type) && len(n.Elts) > 0 {
					report(n, "builds a clinic event literal; use a clinic.New* constructor")
				}
			case *ast.KeyValueExpr:
				if k, ok := n.Key.(*ast.Ident); ok && k.Name == "Data" && isMapLiteral(n.Value) {
					report(n, "gives an event a map as data; use the event type's data struct")
				}
			case *ast.AssignStmt:
				for i, lhs := range n.Lhs {
					if sel, ok := lhs.(*ast.SelectorExpr); ok && sel.Sel.Name == "Data" && i < len(n.Rhs) && isMapLiteral(n.Rhs[i]) {
						report(n, "gives an event a map as data; use the event type's data struct")
					}
				}
			}
			return true
		})
	}
	return out
}

// A map cannot be event data at all: data names its event type.
func TestMapIsNoEventData(t *testing.T) {
	data := reflect.TypeOf((*clinic.Data)(nil)).Elem()
	field, ok := reflect.TypeOf(clinic.Event{}).FieldByName("Data")
	if !ok || field.Type != data {
		t.Fatalf("Event.Data is %v, want clinic.Data", field.Type)
	}
	if reflect.TypeOf(map[string]any{}).Implements(data) {
		t.Error("map[string]any implements clinic.Data")
	}
}
