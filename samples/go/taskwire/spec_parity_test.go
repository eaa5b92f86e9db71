package taskwire

// The package against spec/protocol.json, the protocol's one source of truth: every error
// code, method, blocking method, and member of the types in wholeTypes that the spec lists is
// known here, or this test fails and names what to add. The Go code is written by hand (the
// module has no generator and needs none for twenty methods); this test is what keeps it
// from drifting.

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

type specDocument struct {
	ProtocolVersions []string `json:"protocolVersions"`
	Methods          []struct {
		Method    string `json:"method"`
		Direction string `json:"direction"`
		Blocking  bool   `json:"blocking"`
	} `json:"methods"`
	Errors []struct {
		Name    string `json:"name"`
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
	Defs map[string]struct {
		Properties map[string]json.RawMessage `json:"properties"`
	} `json:"$defs"`
}

func readSpec(t *testing.T) specDocument {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "spec", "protocol.json"))
	if err != nil {
		t.Fatalf("cannot read the spec: %v", err)
	}
	var spec specDocument
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatalf("cannot parse the spec: %v", err)
	}
	return spec
}

// The code constant and the sentinel of each registry entry, by the registry's name.
var registry = map[string]struct {
	code     int
	sentinel error
}{
	"ParseError":                 {CodeParseError, ErrParse},
	"InvalidRequest":             {CodeInvalidRequest, ErrInvalidRequest},
	"MethodNotFound":             {CodeMethodNotFound, ErrMethodNotFound},
	"InvalidParams":              {CodeInvalidParams, ErrInvalidParams},
	"InternalError":              {CodeInternalError, ErrInternal},
	"AuthenticationFailed":       {CodeAuthenticationFailed, ErrAuthenticationFailed},
	"NotAuthenticated":           {CodeNotAuthenticated, ErrNotAuthenticated},
	"UnsupportedProtocolVersion": {CodeUnsupportedProtocolVersion, ErrUnsupportedProtocolVersion},
	"FrameTooLarge":              {CodeFrameTooLarge, ErrFrameTooLarge},
	"ShuttingDown":               {CodeShuttingDown, ErrShuttingDown},
	"RequestCancelled":           {CodeRequestCancelled, ErrRequestCancelled},
	"QueueNotFound":              {CodeQueueNotFound, ErrQueueNotFound},
	"QueueFull":                  {CodeQueueFull, ErrQueueFull},
	"LeaseUnknown":               {CodeLeaseUnknown, ErrLeaseUnknown},
	"PayloadTooLarge":            {CodePayloadTooLarge, ErrPayloadTooLarge},
	"LimitExceeded":              {CodeLimitExceeded, ErrLimitExceeded},
	"StoreUnavailable":           {CodeStoreUnavailable, ErrStoreUnavailable},
	"SessionNotFound":            {CodeSessionNotFound, ErrSessionNotFound},
	"ScheduleNotFound":           {CodeScheduleNotFound, ErrScheduleNotFound},
}

// Methods of the spec this package does not send, and why.
var notSent = map[string]string{
	"queue/declare":    "queues are declared by the manager's -q flag or by other clients; workers only use them",
	"manager/shutdown": "an operator's call (taskwire CLI), not a worker's",
	"manager/stats":    "an operator's call (taskwire stats), not a worker's",
}

func TestSpecParityErrorCodes(t *testing.T) {
	spec := readSpec(t)
	for _, entry := range spec.Errors {
		known, ok := registry[entry.Name]
		if !ok {
			t.Errorf("the spec's error %s (%d) has no Code%s constant and sentinel in errors.go", entry.Name, entry.Code, entry.Name)
			continue
		}
		if known.code != entry.Code {
			t.Errorf("Code%s is %d; the spec says %d", entry.Name, known.code, entry.Code)
		}
		remote := &RemoteError{Code: entry.Code, Message: entry.Message}
		if !errors.Is(remote, known.sentinel) {
			t.Errorf("errors.Is(error %d, the sentinel of %s) is false", entry.Code, entry.Name)
		}
		if got, want := known.sentinel.Error(), "taskwire: "+entry.Message; got != want {
			t.Errorf("the sentinel of %s says %q; the registry's message gives %q", entry.Name, got, want)
		}
	}
	if len(registry) != len(spec.Errors) {
		t.Errorf("errors.go knows %d codes, the spec %d", len(registry), len(spec.Errors))
	}
}

func TestSpecParityMethods(t *testing.T) {
	spec := readSpec(t)
	sent := methodLiterals(t)
	var blockingInSpec []string
	for _, m := range spec.Methods {
		if m.Blocking {
			blockingInSpec = append(blockingInSpec, m.Method)
		}
		if m.Direction != "clientToServer" {
			if m.Method != "events/event" && m.Method != "session/state" {
				t.Errorf("the spec's %s goes from server to client: teach the reader of conn.go to handle it", m.Method)
			}
			continue
		}
		if _, skipped := notSent[m.Method]; skipped {
			if sent[m.Method] {
				t.Errorf("%s is listed as not sent, but the package sends it: remove it from notSent", m.Method)
			}
			continue
		}
		if !sent[m.Method] {
			t.Errorf("the spec's method %s is not sent by the package: add a call for it, or list it in notSent with the reason", m.Method)
		}
	}
	var blockingHere []string
	for method := range blocking {
		blockingHere = append(blockingHere, method)
	}
	sort.Strings(blockingInSpec)
	sort.Strings(blockingHere)
	if !reflect.DeepEqual(blockingInSpec, blockingHere) {
		t.Errorf("the blocking methods (cancelled with $/cancelRequest) are %v in conn.go, %v in the spec", blockingHere, blockingInSpec)
	}
}

// The Go types that carry a type of the spec whole, by the spec's name: each must have a
// field (by its JSON name) for every property, and no other.
var wholeTypes = map[string]reflect.Type{
	"Limits":         reflect.TypeOf(Limits{}),
	"Capabilities":   reflect.TypeOf(Capabilities{}),
	"Task":           reflect.TypeOf(Task{}),
	"GetParams":      reflect.TypeOf(getParams{}),
	"GetResult":      reflect.TypeOf(tasksResult{}),
	"Ack":            reflect.TypeOf(wireAck{}),
	"AckParams":      reflect.TypeOf(ackParams{}),
	"AckResult":      reflect.TypeOf(ackResult{}),
	"ProgressParams": reflect.TypeOf(progressParams{}),
	"HeldTask":       reflect.TypeOf(HeldTask{}),
	"TaskProgress":   reflect.TypeOf(TaskProgress{}),
	"TaskSpec":       reflect.TypeOf(wireTaskSpec{}),
	"Unique":         reflect.TypeOf(wireUnique{}),
	"PutResult":      reflect.TypeOf(putResult{}),
}

func TestSpecParityTypes(t *testing.T) {
	spec := readSpec(t)
	for name, goType := range wholeTypes {
		def, ok := spec.Defs[name]
		if !ok {
			t.Errorf("the spec has no type %s", name)
			continue
		}
		var inSpec, here []string
		for property := range def.Properties {
			inSpec = append(inSpec, property)
		}
		for i := 0; i < goType.NumField(); i++ {
			if tag := goType.Field(i).Tag.Get("json"); tag != "" && tag != "-" {
				here = append(here, strings.Split(tag, ",")[0])
			}
		}
		sort.Strings(inSpec)
		sort.Strings(here)
		if !reflect.DeepEqual(inSpec, here) {
			t.Errorf("%s has fields %v; the spec's %s has %v", goType, here, name, inSpec)
		}
	}
}

func TestSpecParityVersion(t *testing.T) {
	spec := readSpec(t)
	if newest := spec.ProtocolVersions[len(spec.ProtocolVersions)-1]; ProtocolVersion != newest {
		t.Errorf("ProtocolVersion is %q; the spec's newest is %q", ProtocolVersion, newest)
	}
}

// methodLiterals is every "noun/verb" (or "$/verb") string literal in the package's own
// non-test sources: the methods it sends.
func methodLiterals(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	literal := regexp.MustCompile(`"((?:[a-z]+|\$)/[a-zA-Z]+)"`)
	found := map[string]bool{}
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		source, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, match := range literal.FindAllStringSubmatch(string(source), -1) {
			found[match[1]] = true
		}
	}
	return found
}
