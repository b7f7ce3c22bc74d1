package circlecitest

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWebhookClientAgainstFake: package circleci's webhook calls work against the fake.
func TestWebhookClientAgainstFake(t *testing.T) {
	s := NewServer(Options{Seed: 4, LimitedToken: "lim"})
	defer s.Close()
	ctx := context.Background()
	c, err := circleci.New(circleci.Options{BaseURL: s.URL, Token: s.Token()})
	require.NoError(t, err)
	pid := s.Dataset().Projects[0].ID
	nw := circleci.NewWebhook{Name: "circleci-sync c1", Events: []string{"workflow-completed", "job-completed"},
		URL: "https://hooks.example.com/circleci/c1", VerifyTLS: true, SigningSecret: "abcdefgh",
		Scope: circleci.WebhookScope{ID: pid, Type: "project"}}
	h, err := c.CreateWebhook(ctx, nw)
	require.NoError(t, err)
	assert.Equal(t, "****efgh", h.SigningSecret)
	page, err := c.ProjectWebhooksPage(ctx, pid, "")
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	assert.Equal(t, h.ID, page.Items[0].ID)
	assert.Equal(t, nw.URL, page.Items[0].URL)

	lim, err := circleci.New(circleci.Options{BaseURL: s.URL, Token: "lim"})
	require.NoError(t, err)
	err = lim.DeleteWebhook(ctx, h.ID)
	var apiErr *circleci.Error
	require.True(t, errors.As(err, &apiErr), "%v", err)
	assert.Equal(t, http.StatusForbidden, apiErr.StatusCode)

	require.NoError(t, c.DeleteWebhook(ctx, h.ID))
	page, err = c.ProjectWebhooksPage(ctx, pid, "")
	require.NoError(t, err)
	assert.Empty(t, page.Items)
}
