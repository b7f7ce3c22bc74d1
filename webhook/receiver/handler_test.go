package receiver

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci/webhooks"
)

func TestStatusCodes(t *testing.T) {
	good := event("e-1", "github/acme/api")
	other := []byte(`{"id":"ping-1","type":"ping"}`)
	cases := []struct {
		name, path string
		body       []byte
		header     http.Header
		code       int
	}{
		{"accepted", "/circleci/acme", good, nil, http.StatusAccepted},
		{"accepted, short slug", "/circleci/acme", event("e-2", "gh/ACME/api"), nil, http.StatusAccepted},
		{"unknown connection", "/circleci/nobody", good, nil, http.StatusNotFound},
		{"no connection", "/circleci/", good, nil, http.StatusNotFound},
		{"nested path", "/circleci/acme/x", good, nil, http.StatusNotFound},
		{"other prefix", "/github/acme", good, nil, http.StatusNotFound},
		{"dot-dot", "/circleci/..%2facme", good, nil, http.StatusNotFound},
		{"no signature", "/circleci/acme", good, http.Header{webhooks.SignatureHeader: nil}, http.StatusUnauthorized},
		{"wrong signature", "/circleci/acme", good, http.Header{webhooks.SignatureHeader: {webhooks.Sign([]byte("x"), good)}}, http.StatusUnauthorized},
		{"v2 only", "/circleci/acme", good, http.Header{webhooks.SignatureHeader: {"v2=" + webhooks.Sign([]byte(testSecret), good)[3:]}}, http.StatusUnauthorized},
		{"not JSON", "/circleci/acme", []byte("hello world"), nil, http.StatusBadRequest},
		{"not an event", "/circleci/acme", []byte(`{"type":"workflow-completed"}`), nil, http.StatusBadRequest},
		{"unused type", "/circleci/acme", other, http.Header{webhooks.EventTypeHeader: {"ping"}}, http.StatusNoContent},
		{"other org", "/circleci/acme", event("e-3", "github/evil/api"), nil, http.StatusForbidden},
		{"org prefix trick", "/circleci/acme", event("e-4", "github/acme-evil/api"), nil, http.StatusForbidden},
		{"not in projects", "/circleci/beta", event("e-5", "github/beta/web"), nil, http.StatusForbidden},
		{"in projects", "/circleci/beta", event("e-6", "github/beta/api"), nil, http.StatusAccepted},
	}
	r := newReceiver(t, Options{})
	for _, c := range cases {
		if resp := r.post(t, c.path, c.body, c.header); resp.StatusCode != c.code {
			t.Errorf("%s: %d, want %d", c.name, resp.StatusCode, c.code)
		}
	}
	if n := r.handoff.count(); n != 3 {
		t.Errorf("%d hand-offs, want 3 (only the accepted events)", n)
	}
	m := r.metricsText(t)
	for _, want := range []string{
		`circleci_webhook_events_total{result="ignored",type="other"} 1`,
		`circleci_webhook_events_total{result="accepted",type="workflow-completed"} 3`,
		`circleci_webhook_events_total{result="bad_signature",type="workflow-completed"} 3`,
		`circleci_webhook_requests_total{code="202"} 3`,
		`circleci_webhook_requests_total{code="404"} 5`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	r.assertNoLeak(t, []string{testSecret}, good, other)
}

func TestHandedOffRequest(t *testing.T) {
	r := newReceiver(t, Options{})
	r.post(t, "/circleci/acme", event("e-1", "GitHub/acme/API"), nil)
	if len(r.handoff.calls) != 1 {
		t.Fatalf("%d hand-offs", len(r.handoff.calls))
	}
	got := r.handoff.calls[0]
	if got.EventID != "e-1" || got.Type != webhooks.WorkflowCompleted || got.ProjectSlug != "gh/acme/API" ||
		got.PipelineID != "0b1c2d3e-0000-4000-8000-0000000000e1" || got.WorkflowID != "0b1c2d3e-0000-4000-8000-0000000000f1" {
		t.Errorf("request %+v", got)
	}
}

func TestMethodsAndPaths(t *testing.T) {
	r := newReceiver(t, Options{})
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		req, _ := http.NewRequest(m, r.url+"/circleci/acme", bytes.NewReader(event("e", "gh/acme/api")))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
			t.Errorf("%s: %d, Allow %q", m, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
	for _, p := range []string{"/", "/circleci", "/circleci/a/b", "/circleci/-x", "/circleci/" + strings.Repeat("a", 200)} {
		if resp := r.post(t, p, event("e", "gh/acme/api"), nil); resp.StatusCode != http.StatusNotFound &&
			resp.StatusCode != http.StatusMovedPermanently {
			t.Errorf("POST %s: %d, want 404", p, resp.StatusCode)
		}
	}
	resp, err := http.Get(r.url + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %v %v", resp, err)
	}
	if r.handoff.count() != 0 {
		t.Error("a refused request was handed off")
	}
}

func TestReplayAndDuplicates(t *testing.T) {
	f := &fakeTemporal{}
	r := newReceiver(t, Options{Handoff: Temporal{Client: f, TaskQueue: "q"}})
	body := event("e-dup", "github/acme/api")
	for range 3 {
		if resp := r.post(t, "/circleci/acme", body, nil); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("replay: %d", resp.StatusCode)
		}
	}
	if f.calls != 3 || len(f.updates) != 1 {
		t.Errorf("%d calls made %d updates, want 3 calls and 1 update", f.calls, len(f.updates))
	}
	if _, ok := f.updates["circleci-event/e-dup"]; !ok {
		t.Errorf("update ids %v", f.updates)
	}
	r.post(t, "/circleci/acme", event("e-other", "github/acme/api"), nil)
	if len(f.updates) != 2 {
		t.Errorf("a new event id made %d updates, want 2", len(f.updates))
	}
	// Across continue-as-new the workflow itself answers duplicate.
	r = newReceiver(t, Options{Handoff: &fakeHandoff{dup: true}})
	r.post(t, "/circleci/acme", body, nil)
	if m := r.metricsText(t); !strings.Contains(m, `circleci_webhook_events_total{result="duplicate",type="workflow-completed"} 1`) {
		t.Errorf("duplicates not counted:\n%s", m)
	}
}

func TestHandoffFailures(t *testing.T) {
	for _, c := range []struct {
		name string
		h    *fakeHandoff
	}{
		{"error", &fakeHandoff{err: errors.New("connection refused")}},
		{"slow", &fakeHandoff{block: true}},
	} {
		r := newReceiver(t, Options{Handoff: c.h})
		start := time.Now()
		resp := r.post(t, "/circleci/acme", event("e-1", "github/acme/api"), nil)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s: %d, want 503", c.name, resp.StatusCode)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: answered after %v, want under 1s", c.name, d)
		}
		r.assertNoLeak(t, []string{testSecret})
	}
}
