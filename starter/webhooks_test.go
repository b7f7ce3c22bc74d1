package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// fakeWebhookAPI serves /project/{slug} and /webhook as CircleCI does; only
// the token "admin" may create or delete.
type fakeWebhookAPI struct {
	mu      sync.Mutex
	hooks   map[string][]circleci.Webhook // by project id
	secrets []string                      // as posted
	posts   int
	next    int
}

func (f *fakeWebhookAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	admin := r.Header.Get("Circle-Token") == "admin"
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v2/project/"):
		slug := strings.TrimPrefix(r.URL.Path, "/api/v2/project/")
		fmt.Fprintf(w, `{"id":"id-%s","slug":%q,"name":"api","organization_name":"acme","organization_slug":"gh/acme","organization_id":"o","vcs_info":{"vcs_url":"https://github.com/%s","provider":"GitHub","default_branch":"main"}}`,
			strings.ReplaceAll(slug, "/", "-"), slug, strings.TrimPrefix(slug, "gh/"))
	case r.Method == http.MethodGet && r.URL.Path == "/api/v2/webhook":
		_ = json.NewEncoder(w).Encode(map[string]any{"items": f.hooks[r.URL.Query().Get("scope-id")], "next_page_token": nil})
	case !admin:
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"message":"Permission denied."}`)
	case r.Method == http.MethodPost && r.URL.Path == "/api/v2/webhook":
		var in circleci.NewWebhook
		_ = json.NewDecoder(r.Body).Decode(&in)
		f.posts++
		f.next++
		f.secrets = append(f.secrets, in.SigningSecret)
		h := circleci.Webhook{ID: fmt.Sprintf("w%d", f.next), Name: in.Name, URL: in.URL, Events: in.Events,
			VerifyTLS: in.VerifyTLS, SigningSecret: "****" + in.SigningSecret[len(in.SigningSecret)-4:], Scope: in.Scope}
		f.hooks[in.Scope.ID] = append(f.hooks[in.Scope.ID], h)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(h)
	case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/api/v2/webhook/"):
		id := strings.TrimPrefix(r.URL.Path, "/api/v2/webhook/")
		for p, hs := range f.hooks {
			for i, h := range hs {
				if h.ID == id {
					f.hooks[p] = append(hs[:i], hs[i+1:]...)
				}
			}
		}
		fmt.Fprint(w, `{"message":"ok"}`)
	default:
		http.NotFound(w, r)
	}
}

func runWebhooksCmd(t *testing.T, srv *httptest.Server, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	args = append(args, "-base-url", srv.URL, "-token-env", "TEST_CIRCLECI_TOKEN", "-connection", "acme",
		"-url", "https://hooks.example.com/", "-project", "gh/acme/api")
	err := run(context.Background(), append([]string{"webhooks"}, args...), &out, &errb)
	return out.String() + errb.String(), err
}

func TestWebhooksRegisterListDelete(t *testing.T) {
	const secret = "registered-signing-secret"
	t.Setenv("TEST_CIRCLECI_TOKEN", "admin")
	t.Setenv("CIRCLECI_WEBHOOK_SECRET", secret)
	t.Setenv("CIRCLECI_WEBHOOK_SECRETS_DIR", "")
	f := &fakeWebhookAPI{hooks: map[string][]circleci.Webhook{}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	for i, want := range []string{"created", "exists"} {
		out, err := runWebhooksCmd(t, srv, "register")
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("register %d: %v\n%s", i, err, out)
		}
		if strings.Contains(out, secret) {
			t.Errorf("register printed the secret")
		}
	}
	hooks := f.hooks["id-gh-acme-api"]
	if f.posts != 1 || len(hooks) != 1 || hooks[0].URL != "https://hooks.example.com/circleci/acme" ||
		strings.Join(hooks[0].Events, ",") != "workflow-completed,job-completed" || !hooks[0].VerifyTLS || f.secrets[0] != secret {
		t.Errorf("posts %d, hooks %+v", f.posts, hooks)
	}
	out, err := runWebhooksCmd(t, srv, "list")
	if err != nil || !strings.Contains(out, "https://hooks.example.com/circleci/acme") {
		t.Errorf("list: %v\n%s", err, out)
	}
	out, err = runWebhooksCmd(t, srv, "delete")
	if err != nil || !strings.Contains(out, "deleted") || len(f.hooks["id-gh-acme-api"]) != 0 {
		t.Errorf("delete: %v\n%s", err, out)
	}
}

func TestWebhooksErrors(t *testing.T) {
	t.Setenv("CIRCLECI_WEBHOOK_SECRET", "s3cret-value")
	t.Setenv("CIRCLECI_WEBHOOK_SECRETS_DIR", "")
	f := &fakeWebhookAPI{hooks: map[string][]circleci.Webhook{}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	t.Setenv("TEST_CIRCLECI_TOKEN", "not-admin")
	if _, err := runWebhooksCmd(t, srv, "register"); err == nil || !strings.Contains(err.Error(), "organization admin") {
		t.Errorf("non-admin register: %v", err)
	}
	t.Setenv("TEST_CIRCLECI_TOKEN", "admin")
	for i := range maxProjectWebhooks {
		f.hooks["id-gh-acme-api"] = append(f.hooks["id-gh-acme-api"], circleci.Webhook{ID: fmt.Sprint("x", i), URL: "https://other/"})
	}
	if _, err := runWebhooksCmd(t, srv, "register"); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("a 6th webhook: %v", err)
	}
	if f.posts != 0 {
		t.Errorf("%d POSTs, want none", f.posts)
	}
	for _, args := range [][]string{{}, {"bogus"}, {"register", "-connection", "acme", "-url", "http://plain"}, {"list", "-connection", "../x", "-url", "https://h"}} {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"webhooks"}, args...), &out, &out)
		if exitCode(err) != 2 {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}
