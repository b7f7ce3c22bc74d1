package circleci

import (
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// testToken is distinctive so that a leak is easy to find in any string.
const testToken = "CCIPAT_tok3n-S3CRET-4f1c9a7e"

// seen is one request as the test server received it.
type seen struct {
	Method      string
	EscapedPath string
	RawQuery    string
	Header      http.Header
}

// recorder keeps the requests a test server received.
type recorder struct {
	mu   sync.Mutex
	reqs []seen
}

func (r *recorder) add(req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, seen{
		Method:      req.Method,
		EscapedPath: req.URL.EscapedPath(),
		RawQuery:    req.URL.RawQuery,
		Header:      req.Header.Clone(),
	})
}

func (r *recorder) all() []seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seen(nil), r.reqs...)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

// unlimited is a limiter of its own that never makes a test wait.
func unlimited() *Limiter {
	return NewLimiter(LimiterOptions{RequestsPerSecond: math.Inf(1), Burst: 1, MaxConcurrent: 64})
}

// newTestClient starts a server running h and returns a client for it, with an
// unlimited limiter of its own, and the recorder of the requests.
func newTestClient(t *testing.T, h http.HandlerFunc, mod ...func(*Options)) (*Client, *recorder, *httptest.Server) {
	t.Helper()
	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	opts := Options{BaseURL: srv.URL, Token: testToken, Limiter: unlimited()}
	for _, m := range mod {
		m(&opts)
	}
	c, err := New(opts)
	require.NoError(t, err)
	return c, rec, srv
}

// jsonBody answers status with a JSON body.
func jsonBody(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

// requireClass asserts that err is an *Error of class c and returns it.
func requireClass(t *testing.T, err error, c Class) *Error {
	t.Helper()
	require.Error(t, err)
	e, ok := AsError(err)
	require.Truef(t, ok, "error %T %v is not an *Error", err, err)
	require.Equalf(t, c, e.Class, "error: %v", err)
	return e
}

// Fixtures shaped like the examples in the research notes (spec shapes).
const (
	pipelineJSON = `{
      "id": "9f1a2c3e-0b7d-4f7e-8a31-2f5a1d9c0b11",
      "errors": [],
      "project_slug": "gh/acme/widgets",
      "updated_at": "2025-09-30T12:01:05.120Z",
      "number": 4812,
      "state": "created",
      "created_at": "2025-09-30T12:01:04.900Z",
      "trigger": {
        "type": "webhook",
        "received_at": "2025-09-30T12:01:04.700Z",
        "actor": { "login": "jdoe", "avatar_url": "https://avatars.githubusercontent.com/u/1?v=4" }
      },
      "vcs": {
        "provider_name": "GitHub",
        "origin_repository_url": "https://github.com/acme/widgets",
        "target_repository_url": "https://github.com/acme/widgets",
        "revision": "3f2c1b0a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b",
        "branch": "main",
        "commit": { "subject": "Fix flaky test", "body": "" }
      }
    }`

	// pipelineNoVCSJSON is a pipeline-definition pipeline: no vcs, git data in
	// trigger_parameters, an unknown state and trigger type, no updated_at.
	pipelineNoVCSJSON = `{"id":"5d0e8a4c-1111-4c2b-9a7e-0f6c3b2a1d00","errors":[{"type":"config","message":"bad yaml"}],` +
		`"project_slug":"circleci/43G3kM5RtfFE7v5sa4nWAU/44n9pujWcTnVZ2b5S8Fnat","number":7,"state":"brand-new-state",` +
		`"created_at":"2025-09-29T08:00:00Z","trigger":{"type":"gitlab_push","received_at":"2025-09-29T07:59:59Z",` +
		`"actor":{"login":"system-actor","avatar_url":null}},` +
		`"trigger_parameters":{"git":{"branch":"main","checkout_sha":"abc"},"circleci":{"event_type":"push"}}}`

	pipelinePageJSON = `{"next_page_token": "AARLwwV4-page2", "items": [` + pipelineJSON + `,` + pipelineNoVCSJSON + `]}`

	workflowJSON = `{
      "pipeline_id": "9f1a2c3e-0b7d-4f7e-8a31-2f5a1d9c0b11",
      "id": "2b7c4d10-5e6f-4a1b-9c8d-7e6f5a4b3c2d",
      "name": "build-and-test",
      "project_slug": "gh/acme/widgets",
      "status": "success",
      "started_by": "6a0d3c2b-1e4f-4b5a-8c7d-9e0f1a2b3c4d",
      "pipeline_number": 4812,
      "created_at": "2025-09-30T12:01:06.002Z",
      "stopped_at": "2025-09-30T12:09:41.513Z"
    }`

	// runningWorkflowJSON has a null stopped_at, an unknown status, a setup tag and
	// auto-rerun fields.
	runningWorkflowJSON = `{"pipeline_id":"9f1a2c3e-0b7d-4f7e-8a31-2f5a1d9c0b11","id":"3c8d5e21-0000-4a1b-9c8d-7e6f5a4b3c2d",` +
		`"name":"setup","project_slug":"gh/acme/widgets","status":"quantum_superposition","started_by":null,` +
		`"pipeline_number":4812,"created_at":"2025-09-30T12:01:06Z","stopped_at":null,"tag":"setup",` +
		`"auto_rerun_number":1,"max_auto_reruns":3}`

	workflowPageJSON = `{"next_page_token": null, "items": [` + workflowJSON + `,` + runningWorkflowJSON + `]}`

	jobBuildJSON = `{ "dependencies": [], "job_number": 9120, "id": "4c1e0000-0000-4000-8000-000000000001", "started_at": "2025-09-30T12:01:10Z",
      "name": "lint", "project_slug": "gh/acme/widgets", "status": "success", "type": "build",
      "stopped_at": "2025-09-30T12:01:31Z" }`
	jobApprovalJSON = `{ "dependencies": ["4c1e0000-0000-4000-8000-000000000001"], "job_number": 9121, "id": "7d2f0000-0000-4000-8000-000000000002", "started_at": "2025-09-30T12:01:08Z",
      "name": "hold", "approved_by": "6a0d3c2b-1e4f-4b5a-8c7d-9e0f1a2b3c4d", "project_slug": "gh/acme/widgets", "status": "success",
      "type": "approval", "stopped_at": "2025-09-30T12:05:02Z", "approval_request_id": "7d2f0000-0000-4000-8000-000000000002" }`
	// jobBlockedJSON never ran: no job_number, null started_at, no stopped_at, an
	// unknown status, and requires.
	jobBlockedJSON = `{"dependencies":["7d2f0000-0000-4000-8000-000000000002"],"id":"8e3a0000-0000-4000-8000-000000000003",` +
		`"started_at":null,"name":"deploy","project_slug":"gh/acme/widgets","status":"waiting_for_godot","type":"build",` +
		`"requires":{"7d2f0000-0000-4000-8000-000000000002":["success"]}}`

	jobPageJSON = `{"next_page_token": null, "items": [` + jobBuildJSON + `,` + jobApprovalJSON + `,` + jobBlockedJSON + `]}`

	userJSON = `{ "id": "6a0d3c2b-1e4f-4b5a-8c7d-9e0f1a2b3c4d", "login": "jdoe", "name": "Jane Doe",
  "avatar_url": "https://avatars.githubusercontent.com/u/1?v=4" }`

	collaborationsJSON = `[
  { "id": "ec6887ec-7d44-4b31-b468-7e552408ee32", "vcs_type": "github", "name": "acme",
    "avatar_url": "https://avatars.githubusercontent.com/u/42?v=4", "slug": "gh/acme" },
  { "id": "0c8f6a1e-2b3d-4e5f-8a9b-1c2d3e4f5a6b", "vcs-type": "circleci", "name": "acme-gitlab",
    "avatar_url": "", "slug": "circleci/UjR2dkLm7VZ3cS1pQ9wXyZ" },
  { "id": null, "vcs_type": "github", "name": "jdoe", "avatar_url": "https://example.invalid/a.png", "slug": "gh/jdoe" }
]`

	projectJSON = `{ "slug": "gh/acme/widgets", "name": "widgets", "id": "1b2c3d4e-0000-4000-8000-000000000000", "organization_name": "acme",
  "organization_slug": "gh/acme", "organization_id": "ec6887ec-7d44-4b31-b468-7e552408ee32",
  "vcs_info": { "vcs_url": "https://github.com/acme/widgets", "provider": "GitHub", "default_branch": "main" } }`

	followedProjectsJSON = `[
  {"vcs_url":"https://github.com/acme/widgets","username":"acme","reponame":"widgets","vcs_type":"github",
   "following":false,"branches":{"main":{"running_builds":[],"recent_builds":[]}}},
  {"vcs_url":"//circleci.com/43G3kM5RtfFE7v5sa4nWAU/44n9pujWcTnVZ2b5S8Fnat","username":"acme-gl","reponame":"gadgets","vcs_type":"circleci"}
]`
)

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// forgetShared removes the shared limiters of baseURL and tokens when the test ends,
// so that a later test whose server reuses the port does not inherit them.
func forgetShared(t *testing.T, baseURL string, tokens ...string) {
	t.Cleanup(func() {
		sharedMu.Lock()
		defer sharedMu.Unlock()
		for _, tok := range tokens {
			delete(sharedLimiters, sharedKey(baseURL, tok))
		}
	})
}
