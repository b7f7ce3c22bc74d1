package circleci

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestWebhookAPI(t *testing.T) {
	var got struct {
		method, path, query, ctype string
		body                       map[string]any
	}
	c, _, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		got.method, got.path, got.query, got.ctype = r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("Content-Type")
		b, _ := io.ReadAll(r.Body)
		got.body = nil
		_ = json.Unmarshal(b, &got.body)
		switch r.Method {
		case http.MethodPost:
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{"id":"w1","url":"https://h/circleci/a","verify-tls":true,"signing-secret":"****cret","events":["job-completed"],"scope":{"id":"p1","type":"project"},"created-at":"2026-01-01T00:00:00Z","updated-at":"2026-01-02T00:00:00Z","name":"n"}`)
		case http.MethodGet:
			fmt.Fprint(w, `{"items":[{"id":"w1","url":"u","updated-at":"2026-01-02T00:00:00Z"}],"next_page_token":"t2"}`)
		default:
			fmt.Fprint(w, `{"message":"ok"}`)
		}
	})
	nw := NewWebhook{Name: "n", Events: []string{"job-completed"}, URL: "https://h/circleci/a", VerifyTLS: true,
		SigningSecret: "the-secret", Scope: WebhookScope{ID: "p1", Type: "project"}}
	h, err := c.CreateWebhook(context.Background(), nw)
	if err != nil || h.ID != "w1" || !h.VerifyTLS || h.UpdatedAt != "2026-01-02T00:00:00Z" || h.Scope.ID != "p1" {
		t.Fatalf("CreateWebhook = %+v, %v", h, err)
	}
	if got.method != http.MethodPost || got.path != "/api/v2/webhook" || got.ctype != "application/json" ||
		got.body["signing-secret"] != "the-secret" || got.body["verify-tls"] != true {
		t.Errorf("POST %+v", got)
	}
	if s := fmt.Sprintf("%v %+v %#v", nw, nw, nw); strings.Contains(s, "the-secret") {
		t.Errorf("NewWebhook prints its secret: %s", s)
	}
	p, err := c.ProjectWebhooksPage(context.Background(), "p1", "t1")
	if err != nil || len(p.Items) != 1 || p.NextPageToken != "t2" || got.query != "page-token=t1&scope-id=p1&scope-type=project" {
		t.Errorf("ProjectWebhooksPage = %+v, %v (query %s)", p, err, got.query)
	}
	if err := c.DeleteWebhook(context.Background(), "a/b"); err != nil || got.method != http.MethodDelete || got.path != "/api/v2/webhook/a%2Fb" {
		t.Errorf("DeleteWebhook: %v, %+v", err, got)
	}
	if err := c.DeleteWebhook(context.Background(), ""); err == nil {
		t.Error("DeleteWebhook of no id")
	}
}
