package circlecitest

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci/webhooks"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hookReceiver is a test endpoint that verifies and parses deliveries; it answers
// 503 to the first fail requests.
type hookReceiver struct {
	*httptest.Server
	secret []byte
	mu     sync.Mutex
	fail   int
	calls  int
	events []webhooks.Event
	bodies map[string][]string // event id → bodies received
	bad    []string
}

func newHookReceiver(t *testing.T, secret string, fail int) *hookReceiver {
	hr := &hookReceiver{secret: []byte(secret), fail: fail, bodies: map[string][]string{}}
	hr.Server = httptest.NewServer(http.HandlerFunc(hr.serve))
	t.Cleanup(hr.Close)
	return hr
}

func (hr *hookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	hr.mu.Lock()
	defer hr.mu.Unlock()
	hr.calls++
	if hr.calls <= hr.fail {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if err := webhooks.Verify(hr.secret, r.Header.Get(webhooks.SignatureHeader), body); err != nil {
		hr.bad = append(hr.bad, "signature: "+err.Error())
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	ev, err := webhooks.Parse(body, r.Header.Get(webhooks.EventTypeHeader))
	if err != nil || r.Header.Get("User-Agent") != "CircleCI-Webhook/1.0" || ev.Type != r.Header.Get(webhooks.EventTypeHeader) {
		hr.bad = append(hr.bad, "parse or headers: "+string(body))
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	hr.events = append(hr.events, ev)
	hr.bodies[ev.ID] = append(hr.bodies[ev.ID], string(body))
	w.WriteHeader(http.StatusAccepted)
}

// received returns the events received, of kind ("" for both).
func (hr *hookReceiver) received(kind string) []webhooks.Event {
	hr.mu.Lock()
	defer hr.mu.Unlock()
	var out []webhooks.Event
	for _, ev := range hr.events {
		if kind == "" || ev.Type == kind {
			out = append(out, ev)
		}
	}
	return out
}

// hookAll registers hr on every project of s and returns the webhook ids.
func hookAll(t *testing.T, s *Server, hr *hookReceiver) []string {
	var ids []string
	for _, p := range s.Dataset().Projects {
		b := newHookBody(p.ID, hr.URL+"/circleci/c1")
		b["signing-secret"] = string(hr.secret)
		r := send(t, s, http.MethodPost, "/api/v2/webhook", s.Token(), b)
		require.Equal(t, http.StatusCreated, r.status, string(r.body))
		var h testHook
		require.NoError(t, json.Unmarshal(r.body, &h))
		ids = append(ids, h.ID)
	}
	return ids
}

func waitDeliveries(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, s.WaitDeliveries(ctx))
}

// expectedCompletions returns the workflows and build jobs that Advance finished:
// those terminal in after and not in before (reused jobs were finished before).
func expectedCompletions(before, after Dataset) (wfs, jobs []string) {
	done := map[string]bool{}
	for _, wf := range before.Workflows {
		done[wf.ID] = isTerminalWorkflow(wf.Status)
	}
	for _, j := range before.Jobs {
		done["j/"+j.ID] = isTerminalJob(j.Status)
	}
	for _, wf := range after.Workflows {
		if !done[wf.ID] && slices.Contains([]string{"success", "failed", "error", "canceled", "unauthorized"}, wf.Status) {
			wfs = append(wfs, wf.ID)
		}
	}
	for _, j := range after.Jobs {
		if !done["j/"+j.ID] && j.Type == jobTypeBuild && slices.Contains([]string{"success", "failed", "canceled", "unauthorized"}, j.Status) {
			jobs = append(jobs, j.ID)
		}
	}
	return wfs, jobs
}

func subjectIDs(evs []webhooks.Event, job bool) []string {
	var out []string
	for _, ev := range evs {
		if job {
			out = append(out, ev.Job.ID)
		} else {
			out = append(out, ev.Workflow.ID)
		}
	}
	return out
}

// TestWebhookDeliveryAdvance: every workflow and build job an Advance finishes (new
// pipelines, FinishRunning, both kinds of rerun on weeks-old pipelines) arrives
// once, signed and parseable, from both payload variants; reused jobs send nothing.
func TestWebhookDeliveryAdvance(t *testing.T) {
	s := NewServer(Options{Seed: 12, AllowHTTPWebhooks: true})
	defer s.Close()
	hr := newHookReceiver(t, "topsecret", 0)
	hooks := hookAll(t, s, hr)
	before := s.Dataset()
	res := s.Advance(Advance{NewPipelines: 6, FinishRunning: true, Reruns: 2, RerunsFromFailed: 2, RerunMinAge: 14 * 24 * time.Hour})
	require.NotEmpty(t, res.RerunFromFailedWorkflows)
	require.Positive(t, res.ReusedJobs)
	waitDeliveries(t, s)
	wantWfs, wantJobs := expectedCompletions(before, s.Dataset())
	assert.Empty(t, hr.bad)
	assert.ElementsMatch(t, wantWfs, subjectIDs(hr.received(webhooks.WorkflowCompleted), false))
	assert.ElementsMatch(t, wantJobs, subjectIDs(hr.received(webhooks.JobCompleted), true))
	assert.Subset(t, wantWfs, append(res.RerunWorkflows, res.RerunFromFailedWorkflows...))

	variants := map[string]bool{}
	for _, ev := range hr.received("") {
		vcs, _, _ := strings.Cut(ev.Project.Slug, "/")
		assert.Contains(t, []string{"github", "bitbucket", "circleci"}, vcs)
		switch {
		case ev.Pipeline.VCS != nil:
			variants["vcs"] = true
		case ev.Pipeline.TriggerParameters != nil && ev.Pipeline.TriggerParameters.Git != nil:
			variants["trigger_parameters"] = true
			assert.Equal(t, "gitlab", ev.Pipeline.Trigger.Type)
		}
	}
	assert.Equal(t, map[string]bool{"vcs": true, "trigger_parameters": true}, variants)
	st := s.DeliveryStats()
	assert.Equal(t, len(wantWfs)+len(wantJobs), st.Delivered)
	assert.Equal(t, DeliveryStats{Events: st.Delivered, Attempts: st.Delivered, Delivered: st.Delivered}, st)
	n := 0
	for _, id := range hooks {
		n += len(s.DeliveredEvents(id))
	}
	assert.Equal(t, st.Delivered, n)
}

// TestWebhookDeliveryRetries: 503 answers are retried with backoff until a 2xx.
func TestWebhookDeliveryRetries(t *testing.T) {
	s := NewServer(Options{Seed: 5, AllowHTTPWebhooks: true,
		Webhooks: WebhookOptions{RetryBase: 5 * time.Millisecond, Parallel: 1}})
	defer s.Close()
	hr := newHookReceiver(t, "k", 4)
	hookAll(t, s, hr)
	s.Advance(Advance{NewPipelines: 3, FinishRunning: true})
	waitDeliveries(t, s)
	st := s.DeliveryStats()
	require.Positive(t, st.Events)
	assert.Equal(t, 4, st.Retried)
	assert.Equal(t, st.Events, st.Delivered)
	assert.Equal(t, st.Events+4, st.Attempts)
	assert.Zero(t, st.Failed)
	assert.Len(t, hr.received(""), st.Events)
}

// TestWebhookDeliveryGivesUp: retries are bounded.
func TestWebhookDeliveryGivesUp(t *testing.T) {
	s := NewServer(Options{Seed: 5, AllowHTTPWebhooks: true,
		Webhooks: WebhookOptions{RetryBase: time.Millisecond, MaxRetries: 2}})
	defer s.Close()
	hr := newHookReceiver(t, "k", 1<<30)
	hookAll(t, s, hr)
	s.Advance(Advance{FinishRunning: true})
	waitDeliveries(t, s)
	st := s.DeliveryStats()
	require.Positive(t, st.Events)
	assert.Equal(t, st.Events, st.Failed)
	assert.Equal(t, 3*st.Events, st.Attempts)
}

// TestWebhookDeliveryDuplicatesReorder: duplicates carry the same id and body;
// the send order is shuffled, the same for the same seed.
func TestWebhookDeliveryDuplicatesReorder(t *testing.T) {
	run := func() ([]string, *hookReceiver, DeliveryStats) {
		s := NewServer(Options{Seed: 8, AllowHTTPWebhooks: true,
			Webhooks: WebhookOptions{DuplicateRate: 0.5, Reorder: true, Parallel: 1}})
		defer s.Close()
		hr := newHookReceiver(t, "k", 0)
		hooks := hookAll(t, s, hr)
		s.Advance(Advance{NewPipelines: 6, FinishRunning: true})
		waitDeliveries(t, s)
		var ids []string
		for _, h := range hooks {
			ids = append(ids, s.DeliveredEvents(h)...)
		}
		return ids, hr, s.DeliveryStats()
	}
	ids, hr, st := run()
	again, _, _ := run()
	assert.Equal(t, ids, again)
	require.Positive(t, st.Duplicates)
	assert.Equal(t, st.Events, len(ids))
	twice := 0
	for id, bodies := range hr.bodies {
		if len(bodies) == 2 {
			twice++
			assert.Equal(t, bodies[0], bodies[1], id)
		}
	}
	assert.Equal(t, st.Duplicates, twice)
	evs := hr.received("")
	sorted := slices.IsSortedFunc(evs, func(a, b webhooks.Event) int { return a.HappenedAt.Compare(b.HappenedAt) })
	assert.False(t, sorted, "reordered")
}

// TestWebhookDeterminism: registering webhooks changes nothing in the dataset.
func TestWebhookDeterminism(t *testing.T) {
	plain := NewServer(Options{Seed: 21})
	defer plain.Close()
	hooked := NewServer(Options{Seed: 21, AllowHTTPWebhooks: true})
	defer hooked.Close()
	hookAll(t, hooked, newHookReceiver(t, "k", 0))
	for _, a := range []Advance{{NewPipelines: 4}, {FinishRunning: true, Reruns: 1, RerunsFromFailed: 1}} {
		assert.Equal(t, plain.Advance(a), hooked.Advance(a))
	}
	waitDeliveries(t, hooked)
	assert.Equal(t, plain.Dataset(), hooked.Dataset())
	assert.Positive(t, hooked.DeliveryStats().Delivered)
	assert.Zero(t, plain.DeliveryStats().Events)
}

// TestWebhookDeliveryVerifyTLS: verify-tls false reaches a self-signed https
// endpoint; true does not (the deliveries fail after their retries).
func TestWebhookDeliveryVerifyTLS(t *testing.T) {
	var mu sync.Mutex
	got := 0
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		got++
		mu.Unlock()
	}))
	defer srv.Close()
	for _, verify := range []bool{false, true} {
		s := NewServer(Options{Seed: 5, Webhooks: WebhookOptions{RetryBase: time.Millisecond, MaxRetries: 1}})
		b := newHookBody(s.Dataset().Projects[0].ID, srv.URL+"/hook")
		b["verify-tls"] = verify
		require.Equal(t, http.StatusCreated, send(t, s, http.MethodPost, "/api/v2/webhook", s.Token(), b).status)
		s.Advance(Advance{NewPipelines: 3, FinishRunning: true})
		waitDeliveries(t, s)
		st := s.DeliveryStats()
		require.Positive(t, st.Events)
		if verify {
			assert.Equal(t, st.Events, st.Failed)
		} else {
			assert.Equal(t, st.Events, st.Delivered)
		}
		s.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Positive(t, got)
}

// TestWebhookDeliveryRootCAs: with the test server's certificate among
// RootCAs, verify-tls true reaches it.
func TestWebhookDeliveryRootCAs(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	s := NewServer(Options{Seed: 5, Webhooks: WebhookOptions{RetryBase: time.Millisecond, MaxRetries: 1, RootCAs: roots}})
	defer s.Close()
	b := newHookBody(s.Dataset().Projects[0].ID, srv.URL+"/hook")
	b["verify-tls"] = true
	require.Equal(t, http.StatusCreated, send(t, s, http.MethodPost, "/api/v2/webhook", s.Token(), b).status)
	s.Advance(Advance{NewPipelines: 3, FinishRunning: true})
	waitDeliveries(t, s)
	st := s.DeliveryStats()
	require.Positive(t, st.Events)
	assert.Equal(t, st.Events, st.Delivered)
}
