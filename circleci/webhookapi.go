package circleci

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// Routes of the outbound webhook operations.
const (
	RouteWebhooks = "/api/v2/webhook"
	RouteWebhook  = "/api/v2/webhook/{webhook-id}"
)

// Webhook is an outbound webhook as CircleCI lists it; SigningSecret is masked.
type Webhook struct {
	ID            string       `json:"id"`
	Name          string       `json:"name"`
	URL           string       `json:"url"`
	Events        []string     `json:"events"`
	VerifyTLS     bool         `json:"verify-tls"`
	SigningSecret string       `json:"signing-secret"`
	Scope         WebhookScope `json:"scope"`
	CreatedAt     string       `json:"created-at"`
	UpdatedAt     string       `json:"updated-at"`
}

// WebhookScope is a webhook's scope: Type "project", ID the project's UUID.
type WebhookScope struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// NewWebhook is the body of a webhook's creation. Its formatting hides the
// signing secret.
type NewWebhook struct {
	Name          string       `json:"name"`
	Events        []string     `json:"events"`
	URL           string       `json:"url"`
	VerifyTLS     bool         `json:"verify-tls"`
	SigningSecret string       `json:"signing-secret"`
	Scope         WebhookScope `json:"scope"`
}

// String names the webhook without its secret.
func (w NewWebhook) String() string {
	return fmt.Sprintf("webhook %q to %s for %s %s", w.Name, w.URL, w.Scope.Type, w.Scope.ID)
}

// GoString is String.
func (w NewWebhook) GoString() string { return w.String() }

// ProjectWebhooksPage lists a page of the webhooks of the project with UUID
// projectID. The spec declares no page-token, but answers next_page_token.
func (c *Client) ProjectWebhooksPage(ctx context.Context, projectID, pageToken string) (Page[Webhook], error) {
	if projectID == "" {
		return Page[Webhook]{}, invalidArgument(http.MethodGet, RouteWebhooks, "empty project id")
	}
	q := url.Values{"scope-id": {projectID}, "scope-type": {"project"}}
	if pageToken != "" {
		q.Set(paramPageToken, pageToken)
	}
	return getPage[Webhook](ctx, c, &request{method: http.MethodGet, route: RouteWebhooks, path: RouteWebhooks, query: q})
}

// CreateWebhook creates w and returns it as CircleCI stored it.
func (c *Client) CreateWebhook(ctx context.Context, w NewWebhook) (Webhook, error) {
	body, err := json.Marshal(w)
	if err != nil {
		return Webhook{}, invalidArgument(http.MethodPost, RouteWebhooks, "cannot encode the webhook")
	}
	r := &request{method: http.MethodPost, route: RouteWebhooks, path: RouteWebhooks, body: body}
	return get(ctx, c, r, decodeObject[Webhook])
}

// DeleteWebhook deletes the webhook with UUID id.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	if id == "" {
		return invalidArgument(http.MethodDelete, RouteWebhook, "empty webhook id")
	}
	r := &request{method: http.MethodDelete, route: RouteWebhook, path: "/api/v2/webhook/" + escapeSegment(id)}
	_, err := c.do(ctx, r)
	return err
}
