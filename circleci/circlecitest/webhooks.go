package circlecitest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
)

// Stats keys of the outbound webhook routes (each also answers the methods it lists).
const (
	// RouteWebhooks is GET and POST /api/v2/webhook.
	RouteWebhooks = "GET /api/v2/webhook"
	// RouteWebhook is GET, PUT and DELETE /api/v2/webhook/{webhook-id}.
	RouteWebhook = "GET /api/v2/webhook/{webhook-id}"
	// MaxProjectWebhooks is CircleCI's limit of outbound webhooks per project.
	MaxProjectWebhooks = 5
)

// Answers of the webhook routes.
const (
	msgPermissionDenied = "Permission denied."
	msgWebhookNotFound  = "Webhook not found"
	msgWebhookLimit     = "Projects are limited to 5 outbound webhooks."
)

var webhookRoutes = []apiRoute{
	{key: RouteWebhooks, short: "webhooks", list: true, methods: []string{http.MethodPost}, handle: (*Server).handleWebhooks},
	{key: RouteWebhook, short: "webhook", methods: []string{http.MethodPut, http.MethodDelete},
		handle: withID("webhook-id", (*Server).handleWebhook)},
}

var webhookEvents = []string{"workflow-completed", "job-completed"}

type wireScope struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

type wireWebhook struct {
	URL           string    `json:"url"`
	VerifyTLS     bool      `json:"verify-tls"`
	ID            string    `json:"id"`
	SigningSecret string    `json:"signing-secret"`
	UpdatedAt     wireTime  `json:"updated-at"`
	Name          string    `json:"name"`
	CreatedAt     wireTime  `json:"created-at"`
	Scope         wireScope `json:"scope"`
	Events        []string  `json:"events"`
}

// webhookBody is a POST or PUT body; nil fields were absent.
type webhookBody struct {
	Name          *string    `json:"name"`
	Events        []string   `json:"events"`
	URL           *string    `json:"url"`
	VerifyTLS     *bool      `json:"verify-tls"`
	SigningSecret *string    `json:"signing-secret"`
	Scope         *wireScope `json:"scope"`
}

// handleWebhooks answers GET (list by scope) and POST (create) /webhook.
func (s *Server) handleWebhooks(w http.ResponseWriter, r *http.Request, _ routeArgs) {
	pr, ok := s.authorize(w, r)
	if !ok {
		return
	}
	if r.Method == http.MethodPost {
		s.createWebhook(w, r, pr)
		return
	}
	q := r.URL.Query()
	if q.Get("scope-type") != "project" {
		writeError(w, http.StatusBadRequest, "Invalid input: scope-type must be project")
		return
	}
	if !checkUUID(w, "scope-id", q.Get("scope-id")) {
		return
	}
	s.mu.RLock()
	i, ok := s.projectByID(pr, q.Get("scope-id"))
	s.mu.RUnlock()
	if !ok {
		writeError(w, http.StatusNotFound, msgProjectNotFound)
		return
	}
	out := wireList[wireWebhook]{Items: []wireWebhook{}}
	for _, h := range s.hooks.list(i) {
		out.Items = append(out.Items, h.wire())
	}
	writeJSON(w, http.StatusOK, out)
}

// createWebhook checks a POST body in CircleCI's order and stores the webhook.
func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request, pr principal) {
	if !s.isAdmin(pr) {
		writeError(w, http.StatusForbidden, msgPermissionDenied)
		return
	}
	b, ok := s.readWebhookBody(w, r)
	if !ok {
		return
	}
	if b.Name == nil || b.URL == nil || b.VerifyTLS == nil || b.SigningSecret == nil || b.Events == nil || b.Scope == nil {
		writeError(w, http.StatusBadRequest, "Invalid input: name, events, url, verify-tls, signing-secret and scope are required")
		return
	}
	if b.Scope.Type != "project" || !checkUUID(w, "scope.id", b.Scope.ID) {
		if b.Scope.Type != "project" {
			writeError(w, http.StatusBadRequest, "Invalid input: scope.type must be project")
		}
		return
	}
	s.mu.RLock()
	i, ok := s.projectByID(pr, b.Scope.ID)
	now := s.w.now
	s.mu.RUnlock()
	if !ok {
		writeError(w, http.StatusNotFound, msgProjectNotFound)
		return
	}
	h := &hook{project: i, projectID: b.Scope.ID, createdAt: now}
	h.apply(b, now)
	if !s.hooks.add(h) {
		writeError(w, http.StatusBadRequest, msgWebhookLimit)
		return
	}
	writeJSON(w, http.StatusCreated, h.wire())
}

// readWebhookBody decodes a POST or PUT body and checks the fields it has.
func (s *Server) readWebhookBody(w http.ResponseWriter, r *http.Request) (webhookBody, bool) {
	var b webhookBody
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxControlBody))
	if err == nil {
		err = json.Unmarshal(raw, &b)
	}
	var msg string
	switch {
	case err != nil:
		msg = "Invalid input: the body is not a JSON object"
	case b.Name != nil && *b.Name == "":
		msg = "Invalid input: name must not be empty"
	case b.Events != nil && !validEvents(b.Events):
		msg = "Invalid input: events must be workflow-completed or job-completed"
	case b.URL != nil && !s.validHookURL(*b.URL):
		msg = "Invalid input: url must be an https URL"
	case b.SigningSecret != nil && *b.SigningSecret == "":
		msg = "Invalid input: signing-secret must not be empty"
	}
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return b, false
	}
	return b, true
}

func validEvents(evs []string) bool {
	for _, e := range evs {
		if !slices.Contains(webhookEvents, e) {
			return false
		}
	}
	return len(evs) > 0
}

// validHookURL accepts https URLs, and http ones with Options.AllowHTTPWebhooks.
func (s *Server) validHookURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return false
	}
	return u.Scheme == "https" || u.Scheme == "http" && s.opts.AllowHTTPWebhooks
}

// handleWebhook answers GET, PUT and DELETE /webhook/{id}, with s.mu read-locked.
func (s *Server) handleWebhook(w http.ResponseWriter, r *http.Request, a routeArgs, pr principal) {
	h, ok := s.hooks.get(a.id)
	if !ok || h.project >= pr.visible {
		writeError(w, http.StatusNotFound, msgWebhookNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !s.isAdmin(pr) {
		writeError(w, http.StatusForbidden, msgPermissionDenied)
		return
	}
	switch r.Method {
	case http.MethodDelete:
		s.hooks.remove(a.id)
		writeJSON(w, http.StatusOK, wireError{Message: "Webhook deleted."})
	case http.MethodPut:
		b, ok := s.readWebhookBody(w, r)
		if !ok {
			return
		}
		writeJSON(w, http.StatusOK, s.hooks.update(a.id, b, s.w.now))
	default:
		writeJSON(w, http.StatusOK, h.wire())
	}
}

// projectByID returns the index of the project with UUID id, if pr sees it.
// Must be called with s.mu held.
func (s *Server) projectByID(pr principal, id string) (int, bool) {
	for i, p := range s.w.projects[:pr.visible] {
		if p.ID == id {
			return i, true
		}
	}
	return 0, false
}

// isAdmin reports whether pr may change webhooks: the limited token never may,
// the full one unless Options.TokenNotAdmin.
func (s *Server) isAdmin(pr principal) bool {
	return pr.name == "full" && !s.opts.TokenNotAdmin
}

// maskSecret masks a signing secret as CircleCI lists it.
func maskSecret(secret string) string {
	if len(secret) <= 4 {
		return "****"
	}
	return "****" + secret[len(secret)-4:]
}
