package receiver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/circleci-sync/circleci-sync/circleci/webhooks"
)

const testSecret = "s3cr3t-webhook-signing-key"

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type testReceiver struct {
	url     string
	handoff *fakeHandoff
	logs    *syncBuffer
	metrics *Metrics
	handler *Handler
}

// newReceiver serves connections "acme" (gh/acme, the global secret) and
// "beta" (gh/beta, projects gh/beta/api only) behind a test server.
func newReceiver(t *testing.T, opts Options) *testReceiver {
	t.Helper()
	r := &testReceiver{handoff: &fakeHandoff{}, logs: &syncBuffer{}, metrics: NewMetrics()}
	if opts.Secrets == (Secrets{}) {
		opts.Secrets = Secrets{Global: testSecret}
	}
	if opts.Handoff == nil {
		opts.Handoff = r.handoff
	}
	opts.Metrics = r.metrics
	opts.Logger = slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r.handler = NewHandler(Connections{
		"acme": {ConnectionID: "acme", OrgSlug: "gh/acme"},
		"beta": {ConnectionID: "beta", OrgSlug: "gh/beta", Projects: []string{"gh/beta/api"}},
	}, opts)
	srv := httptest.NewServer(NewMux(r.handler, true))
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

// event is a workflow-completed event body of project slug.
func event(id, slug string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"type":"workflow-completed","happened_at":"2026-03-02T10:15:34Z",`+
		`"project":{"id":"p","slug":%q,"name":"api"},"organization":{"id":"o","name":"acme"},`+
		`"workflow":{"id":"0b1c2d3e-0000-4000-8000-0000000000f1","name":"build","status":"success"},`+
		`"pipeline":{"id":"0b1c2d3e-0000-4000-8000-0000000000e1","number":42,"trigger":{"type":"webhook"}}}`, id, slug)
}

// post sends body to path, signed with secret unless sig is given.
func (r *testReceiver) post(t *testing.T, path string, body []byte, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, r.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("content-type", "application/json")
	req.Header.Set(webhooks.EventTypeHeader, webhooks.WorkflowCompleted)
	req.Header.Set(webhooks.SignatureHeader, webhooks.Sign([]byte(testSecret), body))
	for k, v := range header {
		req.Header[http.CanonicalHeaderKey(k)] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func (r *testReceiver) metricsText(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(r.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// assertNoLeak fails when the logs or the metrics hold a secret, a signature
// or a piece of a body.
func (r *testReceiver) assertNoLeak(t *testing.T, secrets []string, bodies ...[]byte) {
	t.Helper()
	text := r.logs.String() + r.metricsText(t)
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("a secret appears in the logs or metrics")
		}
	}
	for _, b := range bodies {
		sig := webhooks.Sign([]byte(testSecret), b)
		if strings.Contains(text, sig[3:]) {
			t.Errorf("a signature appears in the logs or metrics")
		}
		if len(b) > 40 && strings.Contains(text, string(b[:40])) {
			t.Errorf("a body appears in the logs or metrics: %.40s", b)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
