package circleci

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// fuzzSeeds are the in-code seeds of FuzzDecode; testdata/fuzz/FuzzDecode holds
// more, as files.
var fuzzSeeds = []string{
	pipelinePageJSON,
	workflowPageJSON,
	jobPageJSON,
	userJSON,
	projectJSON,
	collaborationsJSON,
	followedProjectsJSON,
	`{"items":[],"next_page_token":null}`,
	`{"items":[{"id":"j","started_at":null,"dependencies":[]}]}`,
	`[{"id":null,"vcs-type":"bitbucket","slug":"bb/ws"}]`,
	"Rate limited.",
	`{"items":[{"id":"p","number":"12"}]}`,
	`{"items":[{"id":"p"`,
	`null`,
	``,
	`<html><title>502</title></html>`,
	`{"id":"w","created_at":"not a time"}`,
	`{"items":{"id":"x"},"next_page_token":[]}`,
	`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
	`{"items":[{"id":"r","branch":"main","duration":null,"created_at":"2026-01-01T00:00:00Z","stopped_at":null,` +
		`"credits_used":3,"status":null,"is_approval":false}],"next_page_token":"t"}`,
	`{"items":[{"name":"build and test","metrics":{"total_runs":1,"mttr":null,"duration_metrics":{"min":null}},` +
		`"window_start":"2026-01-01T00:00:00Z","window_end":"2026-01-01T00:00:00Z","project_id":"p"}]}`,
}

// decodeCase runs body through the client's decoding path for one response type,
// the one every operation uses, and checks the result.
func decodeCase[T any](t *testing.T, c *Client, route string, body []byte, decode func([]byte) (T, error), check func(T)) {
	t.Helper()
	r := &request{method: http.MethodGet, route: route, path: "/x"}
	v, err := decodeResponse(c, r, &response{status: 200, body: body}, decode)
	if err != nil {
		e, ok := AsError(err)
		if !ok {
			t.Fatalf("%s: error %T is not an *Error: %v", route, err, err)
		}
		if e.Class != ClassDecode {
			t.Fatalf("%s: class %q, want decode: %v", route, e.Class, err)
		}
		if e.Message == "" || e.Route != route || e.StatusCode != 200 {
			t.Fatalf("%s: incomplete error %#v", route, e)
		}
		if len(e.Message) > 300 {
			t.Fatalf("%s: message too long (%d bytes): the body must not be repeated", route, len(e.Message))
		}
		return
	}
	check(v)
}

func checkRaw(t *testing.T, what string, raw json.RawMessage) {
	t.Helper()
	if !json.Valid(raw) {
		t.Fatalf("%s: Raw is not valid JSON: %q", what, raw)
	}
}

func checkPage[T any](t *testing.T, p Page[T], raw func(T) (string, json.RawMessage)) {
	t.Helper()
	if p.Items == nil {
		t.Fatal("decoded page with nil Items")
	}
	for _, it := range p.Items {
		id, r := raw(it)
		if id == "" {
			t.Fatal("decoded item without id")
		}
		checkRaw(t, "item", r)
	}
}

// FuzzDecode feeds arbitrary bytes, as a 2xx body, to the decoding of every list and
// item response. Decoding must never panic; it succeeds with items that have ids and
// valid Raw JSON, or fails with a ClassDecode *Error.
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	c, err := New(Options{Token: testToken, Limiter: unlimited()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		decodeCase(t, c, RouteProjectPipelines, body, decodePage[Pipeline], func(p Page[Pipeline]) {
			checkPage(t, p, func(x Pipeline) (string, json.RawMessage) { return x.ID, x.Raw })
		})
		decodeCase(t, c, RouteOrgPipelines, body, decodePage[Pipeline], func(p Page[Pipeline]) {
			checkPage(t, p, func(x Pipeline) (string, json.RawMessage) { return x.ID, x.Raw })
		})
		decodeCase(t, c, RoutePipelineWorkflow, body, decodePage[Workflow], func(p Page[Workflow]) {
			checkPage(t, p, func(x Workflow) (string, json.RawMessage) { return x.ID, x.Raw })
		})
		decodeCase(t, c, RouteWorkflowJobs, body, decodePage[Job], func(p Page[Job]) {
			checkPage(t, p, func(x Job) (string, json.RawMessage) { return x.ID, x.Raw })
		})
		decodeCase(t, c, RouteInsightsRuns, body, decodePage[WorkflowRun], func(p Page[WorkflowRun]) {
			checkPage(t, p, func(x WorkflowRun) (string, json.RawMessage) { return x.ID, x.Raw })
		})
		decodeCase(t, c, RouteInsightsWorkflows, body, decodePage[WorkflowSummary], func(p Page[WorkflowSummary]) {
			checkPage(t, p, func(x WorkflowSummary) (string, json.RawMessage) { return x.Name, x.Raw })
		})
		decodeCase(t, c, RoutePipeline, body, decodeObject[Pipeline], func(x Pipeline) {
			checkRaw(t, "pipeline", x.Raw)
		})
		decodeCase(t, c, RouteWorkflow, body, decodeObject[Workflow], func(x Workflow) {
			checkRaw(t, "workflow", x.Raw)
		})
		decodeCase(t, c, RouteUser, body, decodeObject[User], func(x User) {
			if x.ID == "" {
				t.Fatal("user without id")
			}
			checkRaw(t, "user", x.Raw)
		})
		decodeCase(t, c, RouteMe, body, decodeObject[User], func(User) {})
		decodeCase(t, c, RouteProject, body, decodeObject[Project], func(x Project) {
			checkRaw(t, "project", x.Raw)
		})
		decodeCase(t, c, RouteCollaborations, body, decodeArray[Collaboration], func(xs []Collaboration) {
			if xs == nil {
				t.Fatal("nil collaborations")
			}
			for _, x := range xs {
				checkRaw(t, "collaboration", x.Raw)
			}
		})
		decodeCase(t, c, RouteFollowedProjects, body, decodeArray[FollowedProject], func(xs []FollowedProject) {
			for _, x := range xs {
				checkRaw(t, "followed project", x.Raw)
				_ = x.Slug()
			}
		})
	})
}

// FuzzErrorMessage feeds arbitrary non-2xx bodies to the message extraction: the
// message is never empty, is valid UTF-8 on one line without control characters, is
// at most 200 runes, and never contains the token, even when the body does.
func FuzzErrorMessage(f *testing.F) {
	f.Add(429, "text/plain", []byte("Rate limited."))
	f.Add(404, "application/json", []byte(`{"message":"Project not found"}`))
	f.Add(400, "application/json", []byte(`{"error":"bad","message":"m"}`))
	f.Add(422, "", []byte(`{"error":{"title":"t","detail":"d"}}`))
	f.Add(502, "text/html", []byte(badGatewayHTML))
	f.Add(500, "", []byte(""))
	f.Add(503, "", []byte("<title>\xff\x00</title>"))
	f.Add(401, "application/json", []byte(`{"message":"`+testToken+`"}`))
	f.Fuzz(func(t *testing.T, status int, contentType string, body []byte) {
		if status < 100 || status > 999 {
			status = 500
		}
		c := &Client{cred: &credential{token: testToken}}
		withToken := append(append(append([]byte{}, body...), testToken...), body...)
		for _, b := range [][]byte{body, withToken} {
			msg := errorMessage(status, contentType, b, c.redact)
			if msg == "" && http.StatusText(status) != "" {
				t.Fatal("empty message")
			}
			if !utf8.ValidString(msg) {
				t.Fatalf("invalid UTF-8: %q", msg)
			}
			if n := utf8.RuneCountInString(msg); n > maxMessageRunes {
				t.Fatalf("message of %d runes", n)
			}
			if strings.ContainsFunc(msg, unicode.IsControl) {
				t.Fatalf("control character in %q", msg)
			}
			if strings.Contains(msg, testToken) {
				t.Fatalf("token in %q", msg)
			}
		}
	})
}
