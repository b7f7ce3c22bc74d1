package main

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestParseWebhookFlags: the webhook flags set their options, off by default.
func TestParseWebhookFlags(t *testing.T) {
	c, err := parseFlags(nil, io.Discard)
	require.NoError(t, err)
	assert.False(t, c.opts.AllowHTTPWebhooks || c.opts.TokenNotAdmin || c.opts.Webhooks.Reorder)
	assert.Zero(t, c.opts.Webhooks.DuplicateRate)

	c, err = parseFlags([]string{"-allow-http-webhooks", "-token-not-admin", "-webhook-duplicates", "0.2",
		"-webhook-reorder", "-webhook-retry-base", "50ms"}, io.Discard)
	require.NoError(t, err)
	assert.True(t, c.opts.AllowHTTPWebhooks)
	assert.True(t, c.opts.TokenNotAdmin)
	assert.True(t, c.opts.Webhooks.Reorder)
	assert.Equal(t, 0.2, c.opts.Webhooks.DuplicateRate)
	assert.Equal(t, 50*time.Millisecond, c.opts.Webhooks.RetryBase)
}
