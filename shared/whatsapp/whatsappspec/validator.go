package whatsappspec

import (
	"github.com/frontdesk-health/frontdesk/shared/platform"

	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// EnvSpec names the environment variable that overrides where the spec file is.
const EnvSpec = "WHATSAPP_OPENAPI_SPEC"

// SpecFileName is the spec's file name in ../shared/reference and in .local/.
const SpecFileName = "whatsapp-business-messaging-openapi-v23.0.yaml"

// specURL is the made-up location the spec document is registered under so the
// compiler can resolve its "#/components/schemas/..." references. Nothing is fetched.
const specURL = "https://frontdesk.invalid/whatsapp-business-messaging-openapi.json"

const messageSchema = "Message"

// ErrInvalid marks a message that does not match the Message schema.
var ErrInvalid = errors.New("whatsappspec: message does not match Meta's Message schema")

// Validator checks send requests against the spec's Message schema.
type Validator struct {
	message  *jsonschema.Schema
	variants map[string]*jsonschema.Schema // message type -> its schema, for focused errors
	types    []string
}

// NewValidator compiles the Message schema from doc, which must already be patched
// (or deliberately not, to show why the patches exist).
func NewValidator(doc map[string]any) (*Validator, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(specURL, doc); err != nil {
		return nil, fmt.Errorf("whatsappspec: add spec: %w", err)
	}
	msg, err := c.Compile(specURL + "#/components/schemas/" + messageSchema)
	if err != nil {
		return nil, fmt.Errorf("whatsappspec: compile %s: %w", messageSchema, err)
	}
	v := &Validator{message: msg, variants: map[string]*jsonschema.Schema{}}
	// The discriminator mapping (type -> schema) is an OpenAPI keyword the JSON Schema
	// validator ignores; it is used here only to explain a failure against the one
	// variant the sender meant, instead of listing why all eleven oneOf branches failed.
	mapping, _ := lookup(doc, "components", "schemas", messageSchema, "discriminator", "mapping").(map[string]any)
	for typ, ref := range mapping {
		r, ok := ref.(string)
		if !ok || !strings.HasPrefix(r, "#/") {
			continue
		}
		s, err := c.Compile(specURL + r)
		if err != nil {
			return nil, fmt.Errorf("whatsappspec: compile %s: %w", r, err)
		}
		v.variants[typ] = s
		v.types = append(v.types, typ)
	}
	sort.Strings(v.types)
	return v, nil
}

// ValidateMessage checks one send request body. The error wraps ErrInvalid and says
// where and why, in one line per problem.
func (v *Validator) ValidateMessage(b []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("%w: not JSON: %v", ErrInvalid, err)
	}
	err = v.message.Validate(inst)
	if err == nil {
		return nil
	}
	var typ string
	if obj, ok := inst.(map[string]any); ok {
		typ, _ = obj["type"].(string)
	}
	variant, known := v.variants[typ]
	switch {
	case typ == "":
		return fmt.Errorf("%w: missing or non-string \"type\"", ErrInvalid)
	case !known:
		return fmt.Errorf("%w: type %q is not one of %s", ErrInvalid, typ, strings.Join(v.types, ", "))
	}
	if verr := variant.Validate(inst); verr != nil {
		return fmt.Errorf("%w: as a %q message: %s", ErrInvalid, typ, describe(verr))
	}
	return fmt.Errorf("%w: %s", ErrInvalid, describe(err))
}

var printer = message.NewPrinter(language.English)

// describe flattens a jsonschema error into "at /path: reason" lines, leaves only.
func describe(err error) string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err.Error()
	}
	var lines []string
	var visit func(e *jsonschema.ValidationError)
	visit = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			loc := "/" + strings.Join(e.InstanceLocation, "/")
			lines = append(lines, fmt.Sprintf("at %s: %s", loc, e.ErrorKind.LocalizedString(printer)))
			return
		}
		for _, c := range e.Causes {
			visit(c)
		}
	}
	visit(ve)
	// unevaluatedProperties reports its rejections as "false schema". When another
	// problem exists those lines are noise: a failing subschema drops its annotations,
	// so every property it covered also shows up as unevaluated.
	var real, unevaluated []string
	for _, l := range lines {
		if rest, ok := strings.CutSuffix(l, ": false schema"); ok {
			unevaluated = append(unevaluated, rest+": property not allowed")
		} else {
			real = append(real, l)
		}
	}
	if len(real) == 0 {
		real = unevaluated
	}
	sort.Strings(real)
	return strings.Join(slices.Compact(real), "; ")
}

// SpecPath says where the spec is expected: $WHATSAPP_OPENAPI_SPEC if set; otherwise
// ../shared/reference/<file> beside the repository (found by walking up from the
// working directory to go.mod), or, if that is absent, .local/openapi/<file> inside the
// repository where `make openapi-spec` puts it. The path may not exist.
func SpecPath() string {
	if p := os.Getenv(EnvSpec); p != "" {
		return p
	}
	root, err := platform.RepoRoot()
	if err != nil {
		return filepath.Join("..", "shared", "reference", SpecFileName)
	}
	primary := filepath.Join(root, "..", "shared", "reference", SpecFileName)
	if _, err := os.Stat(primary); err == nil {
		return primary
	}
	local := filepath.Join(root, ".local", "openapi", SpecFileName)
	if _, err := os.Stat(local); err == nil {
		return local
	}
	return primary
}

// Loading and compiling take about a second, so the patched validator and the spec
// are built once per process.
var (
	defaultOnce      sync.Once
	defaultSpec      *Spec
	defaultValidator *Validator
	defaultErr       error
)

func loadDefault() {
	defaultSpec, defaultErr = Load(SpecPath())
	if defaultErr != nil {
		return
	}
	doc, err := defaultSpec.Document()
	if err != nil {
		defaultErr = err
		return
	}
	if err := ApplyPatches(doc); err != nil {
		defaultErr = err
		return
	}
	defaultValidator, defaultErr = NewValidator(doc)
}

// Default returns the patched validator for the spec at SpecPath, built once.
func Default() (*Validator, error) {
	defaultOnce.Do(loadDefault)
	return defaultValidator, defaultErr
}

// DefaultSpec returns the spec at SpecPath, loaded once.
func DefaultSpec() (*Spec, error) {
	defaultOnce.Do(loadDefault)
	if defaultSpec == nil {
		return nil, defaultErr
	}
	return defaultSpec, nil
}

// ValidateMessage validates b with the Default validator.
func ValidateMessage(b []byte) error {
	v, err := Default()
	if err != nil {
		return err
	}
	return v.ValidateMessage(b)
}

// WebhookExamples returns every example payload under /whatsapp/webhooks in the
// spec at SpecPath: the payloads a webhook receiver must accept.
func WebhookExamples() ([]Example, error) {
	s, err := DefaultSpec()
	if err != nil {
		return nil, err
	}
	return s.Examples(WebhooksPath)
}

// SkipMessage is the one line printed wherever the spec is missing: by `make dev`,
// whose Graph API stand-in then runs without schema validation, by the contract tests
// that skip, and by `make openapi-spec` when it cannot download the file.
func SkipMessage(path string) string {
	return fmt.Sprintf("Meta's WhatsApp OpenAPI spec is not available (%s): the Graph API stand-in's schema validation is off "+
		"and the contract tests skip; run `make openapi-spec` where the network is reachable, or set %s to the YAML file's path", path, EnvSpec)
}

// DownloadPath is where `make openapi-spec` puts a downloaded spec: $WHATSAPP_OPENAPI_SPEC
// if set, else .local/openapi/<file> inside the repository (git-ignored), where
// SpecPath looks when ../shared/reference is absent.
func DownloadPath() (string, error) {
	if p := os.Getenv(EnvSpec); p != "" {
		return p, nil
	}
	root, err := platform.RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".local", "openapi", SpecFileName), nil
}

// SpecAvailable reports whether the spec file exists at SpecPath.
func SpecAvailable() bool {
	_, err := os.Stat(SpecPath())
	return err == nil
}

// RequireSpec returns the patched validator, skipping the test (with how to get the
// spec) when the file is absent, and failing it when the file is there but unusable.
// It lives in a non-test file so tests of other packages can use it.
func RequireSpec(t testing.TB) *Validator {
	t.Helper()
	path := SpecPath()
	if _, err := os.Stat(path); err != nil {
		t.Skip(SkipMessage(path))
	}
	v, err := Default()
	if err != nil {
		t.Fatalf("whatsappspec: %v", err)
	}
	return v
}

// RequireWebhookExamples returns the spec's webhook examples, skipping like RequireSpec.
func RequireWebhookExamples(t testing.TB) []Example {
	t.Helper()
	RequireSpec(t)
	ex, err := WebhookExamples()
	if err != nil {
		t.Fatalf("whatsappspec: %v", err)
	}
	return ex
}
