package circlecitest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// send sends method path with a JSON body and the token in Circle-Token.
func send(t *testing.T, s *Server, method, path, token string, body any) resp {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	require.NoError(t, err)
	req.Header.Set("Circle-Token", token)
	req.Header.Set("Content-Type", "application/json")
	return do(t, s, req)
}

// newHookBody is a valid POST /webhook body for the project with UUID projectID.
func newHookBody(projectID, url string) map[string]any {
	return map[string]any{"name": "sync", "events": []string{"workflow-completed", "job-completed"},
		"url": url, "verify-tls": true, "signing-secret": "s3cret-value",
		"scope": map[string]any{"id": projectID, "type": "project"}}
}

// testHook is a webhook as answered.
type testHook struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	URL           string    `json:"url"`
	SigningSecret string    `json:"signing-secret"`
	Scope         wireScope `json:"scope"`
	Events        []string  `json:"events"`
	CreatedAt     string    `json:"created-at"`
}

// createHook registers a webhook and returns its answer.
func createHook(t *testing.T, s *Server, projectID, url string) testHook {
	t.Helper()
	r := send(t, s, http.MethodPost, "/api/v2/webhook", s.Token(), newHookBody(projectID, url))
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	var h testHook
	require.NoError(t, json.Unmarshal(r.body, &h))
	return h
}

// TestWebhookCRUD: create, list by scope, get, update and delete, the secret masked.
func TestWebhookCRUD(t *testing.T) {
	s := NewServer(Options{Seed: 3})
	defer s.Close()
	pid := s.Dataset().Projects[0].ID
	h := createHook(t, s, pid, "https://hooks.example.com/circleci/c1")
	assert.True(t, isUUID(h.ID))
	assert.Equal(t, "****alue", h.SigningSecret)
	assert.Equal(t, wireScope{ID: pid, Type: "project"}, h.Scope)
	assert.ElementsMatch(t, []string{"workflow-completed", "job-completed"}, h.Events)

	var list struct {
		Items         []testHook `json:"items"`
		NextPageToken *string    `json:"next_page_token"`
	}
	get(t, s, withQuery("/api/v2/webhook", "scope-id", pid, "scope-type", "project"), &list)
	require.Len(t, list.Items, 1)
	assert.Equal(t, h.ID, list.Items[0].ID)
	assert.Nil(t, list.NextPageToken)
	get(t, s, withQuery("/api/v2/webhook", "scope-id", s.Dataset().Projects[1].ID, "scope-type", "project"), &list)
	assert.Empty(t, list.Items)

	r := send(t, s, http.MethodPut, "/api/v2/webhook/"+h.ID, s.Token(),
		map[string]any{"name": "renamed", "url": "https://other.example.com/x", "events": []string{"job-completed"}})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var got testHook
	get(t, s, "/api/v2/webhook/"+h.ID, &got)
	assert.Equal(t, "renamed", got.Name)
	assert.Equal(t, "https://other.example.com/x", got.URL)
	assert.Equal(t, []string{"job-completed"}, got.Events)
	assert.Equal(t, h.Scope, got.Scope)

	r = send(t, s, http.MethodDelete, "/api/v2/webhook/"+h.ID, s.Token(), nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	assert.Equal(t, http.StatusNotFound, call(t, s, "/api/v2/webhook/"+h.ID, s.Token()).status)
}

// TestWebhookLimitAndValidation: CircleCI's 5 per project, and bodies it refuses.
func TestWebhookLimitAndValidation(t *testing.T) {
	s := NewServer(Options{Seed: 3})
	defer s.Close()
	pid := s.Dataset().Projects[0].ID
	for range MaxProjectWebhooks {
		createHook(t, s, pid, "https://hooks.example.com/x")
	}
	r := send(t, s, http.MethodPost, "/api/v2/webhook", s.Token(), newHookBody(pid, "https://hooks.example.com/x"))
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Contains(t, message(t, r), "limited to 5")
	createHook(t, s, s.Dataset().Projects[1].ID, "https://hooks.example.com/x")

	bad := map[string]func(map[string]any){
		"http url":     func(b map[string]any) { b["url"] = "http://hooks.example.com/x" },
		"bad event":    func(b map[string]any) { b["events"] = []string{"pipeline-created"} },
		"no events":    func(b map[string]any) { b["events"] = []string{} },
		"no secret":    func(b map[string]any) { delete(b, "signing-secret") },
		"org scope":    func(b map[string]any) { b["scope"] = map[string]any{"id": pid, "type": "organization"} },
		"scope not id": func(b map[string]any) { b["scope"] = map[string]any{"id": "x", "type": "project"} },
	}
	for name, f := range bad {
		b := newHookBody(s.Dataset().Projects[2].ID, "https://hooks.example.com/x")
		f(b)
		r := send(t, s, http.MethodPost, "/api/v2/webhook", s.Token(), b)
		assert.Equal(t, http.StatusBadRequest, r.status, name)
	}
	b := newHookBody("00000000-0000-4000-8000-000000000000", "https://hooks.example.com/x")
	assert.Equal(t, http.StatusNotFound, send(t, s, http.MethodPost, "/api/v2/webhook", s.Token(), b).status)
	assert.Equal(t, http.StatusUnauthorized, send(t, s, http.MethodPost, "/api/v2/webhook", "nope", b).status)
	assert.Equal(t, http.StatusBadRequest,
		call(t, s, withQuery("/api/v2/webhook", "scope-id", pid, "scope-type", "org"), s.Token()).status)
	r = send(t, s, http.MethodPost, "/api/v2/me", s.Token(), nil)
	assert.Equal(t, http.StatusMethodNotAllowed, r.status)
	assert.Equal(t, "GET, HEAD", r.header.Get("Allow"))
}

// TestWebhookNotAdmin: a token that is not an org admin reads webhooks but cannot
// change them (403), as the limited token never can.
func TestWebhookNotAdmin(t *testing.T) {
	s := NewServer(Options{Seed: 3, LimitedToken: "lim"})
	defer s.Close()
	pid := s.Dataset().Projects[0].ID
	h := createHook(t, s, pid, "https://hooks.example.com/x")
	r := send(t, s, http.MethodPost, "/api/v2/webhook", "lim", newHookBody(pid, "https://hooks.example.com/y"))
	assert.Equal(t, http.StatusForbidden, r.status)
	assert.Equal(t, msgPermissionDenied, message(t, r))
	assert.Equal(t, http.StatusForbidden, send(t, s, http.MethodDelete, "/api/v2/webhook/"+h.ID, "lim", nil).status)
	assert.Equal(t, http.StatusOK, call(t, s, "/api/v2/webhook/"+h.ID, "lim").status)

	na := NewServer(Options{Seed: 3, TokenNotAdmin: true})
	defer na.Close()
	r = send(t, na, http.MethodPost, "/api/v2/webhook", na.Token(), newHookBody(pid, "https://hooks.example.com/y"))
	assert.Equal(t, http.StatusForbidden, r.status)
	assert.True(t, strings.HasPrefix(r.header.Get("Content-Type"), "application/json"))
}
