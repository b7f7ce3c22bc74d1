package workflows

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/circleci-sync/circleci-sync/activities"
)

func decodeInput(t *testing.T, s string) ConnectionSyncInput {
	t.Helper()
	var in ConnectionSyncInput
	require.NoError(t, json.Unmarshal([]byte(s), &in), "decoding never fails")
	return in
}

func TestInputDecodesSnakeCaseAndDefaults(t *testing.T) {
	in := decodeInput(t, `{"connection_id":"acme","org_slug":"gh/acme","projects":["gh/acme/api"],
		"since":"2026-01-01","max_concurrent_projects":2,"overlap":"30m","rerun_window":"48h","token_env":"ACME_TOKEN"}`)
	require.NoError(t, in.Validate())
	in = in.withDefaults()
	assert.Equal(t, "acme", in.ConnectionID)
	assert.Equal(t, DefaultBaseURL, in.BaseURL)
	assert.Equal(t, []string{"gh/acme/api"}, in.Projects)
	assert.Equal(t, 30*time.Minute, in.Overlap.D())
	assert.Equal(t, 48*time.Hour, in.RerunWindow.D())
	assert.Equal(t, DefaultUsersFreshFor, in.UsersFreshFor.D())
	assert.Equal(t, 2, in.MaxConcurrentProjects)
	assert.Equal(t, "ACME_TOKEN", in.TokenEnv)
	since, err := parseSince(in.Since)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), since)

	d := decodeInput(t, `{"connection_id":"acme","org_slug":"gh/acme"}`).withDefaults()
	assert.Equal(t, DefaultTokenEnv, d.TokenEnv)
	assert.Equal(t, DefaultOverlap, d.Overlap.D())
	assert.Equal(t, DefaultRerunWindow, d.RerunWindow.D())
	assert.Equal(t, DefaultMaxConcurrentProjects, d.MaxConcurrentProjects)

	zero := decodeInput(t, `{"connection_id":"acme","org_slug":"gh/acme","overlap":"0s"}`).withDefaults()
	assert.Equal(t, time.Duration(0), zero.Overlap.D(), "an explicit 0 is kept, not defaulted")
}

func TestInputRoundTripsThroughJSON(t *testing.T) {
	in := decodeInput(t, `{"connection_id":"acme","org_slug":"gh/acme","overlap":"2h"}`).withDefaults()
	in.State = &ConnectionSyncState{Runs: 2, Verified: true, Discovered: true, Projects: []string{"gh/acme/a"}, Next: 1}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"overlap":"2h0m0s"`)
	back := decodeInput(t, string(b))
	require.NoError(t, back.Validate())
	assert.Equal(t, in.State, back.State)
	assert.Equal(t, in.Overlap, back.Overlap)
}

func TestInputValidateListsEveryProblem(t *testing.T) {
	cases := []struct {
		name  string
		input string
		want  []string
	}{
		{"empty object", `{}`, []string{"connection_id is required", "org_slug is required"}},
		{"not an object", `"acme"`, []string{"must be a JSON object"}},
		{"unknown fields", `{"connection_id":"a","org_slug":"gh/a","token":"x","org":"y"}`,
			[]string{`unknown field "org"`, `unknown field "token"`}},
		{"wrong types", `{"connection_id":7,"org_slug":"gh/a","projects":"gh/a/b"}`,
			[]string{`field "connection_id"`, `field "projects"`}},
		{"bad connection id", `{"connection_id":"a b","org_slug":"gh/a"}`, []string{"connection_id \"a b\""}},
		{"bad org slug", `{"connection_id":"a","org_slug":"acme"}`, []string{"org_slug \"acme\""}},
		{"bad base url", `{"connection_id":"a","org_slug":"gh/a","base_url":"circleci.com"}`, []string{"base_url"}},
		{"base url with user info", `{"connection_id":"a","org_slug":"gh/a","base_url":"https://u:p@x.io"}`, []string{"base_url"}},
		{"bad project", `{"connection_id":"a","org_slug":"gh/a","projects":["gh/a"]}`, []string{`projects: "gh/a"`}},
		{"token instead of env name", `{"connection_id":"a","org_slug":"gh/a","token_env":"CCIPAT_abc-123"}`, []string{"token_env"}},
		{"bad since", `{"connection_id":"a","org_slug":"gh/a","since":"yesterday"}`, []string{"since"}},
		{"negative concurrency", `{"connection_id":"a","org_slug":"gh/a","max_concurrent_projects":-1}`, []string{"max_concurrent_projects -1"}},
		{"too much concurrency", `{"connection_id":"a","org_slug":"gh/a","max_concurrent_projects":1000}`, []string{"max_concurrent_projects 1000"}},
		{"bad duration", `{"connection_id":"a","org_slug":"gh/a","overlap":"an hour"}`, []string{`field "overlap"`}},
		{"state out of range", `{"connection_id":"a","org_slug":"gh/a","state":{"verified":true,"discovered":true,"projects":["gh/a/b"],"next":-1}}`,
			[]string{"state: inconsistent cursor"}},
		{"state past the end", `{"connection_id":"a","org_slug":"gh/a","state":{"discovered":true,"projects":["gh/a/b"],"next":2}}`,
			[]string{"state: inconsistent cursor"}},
		{"state with a bad slug", `{"connection_id":"a","org_slug":"gh/a","state":{"discovered":true,"projects":["nope"]}}`,
			[]string{`state: "nope"`}},
		{"negative duration", `{"connection_id":"a","org_slug":"gh/a","rerun_window":"-1h"}`, []string{"rerun_window -1h0m0s"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := decodeInput(t, c.input).Validate()
			require.Error(t, err)
			var app *temporal.ApplicationError
			require.True(t, errors.As(err, &app))
			assert.Equal(t, activities.ErrInvalidInput, app.Type())
			assert.True(t, app.NonRetryable())
			for _, w := range c.want {
				assert.Contains(t, app.Message(), w)
			}
		})
	}
}

func TestInputValidateNeverEchoesATokenInTokenEnv(t *testing.T) {
	// A token pasted into token_env must not be copied into the error (and so into
	// more history events and logs).
	const token = "CCIPAT_secret-123"
	err := decodeInput(t, `{"connection_id":"a","org_slug":"gh/a","token_env":"`+token+`"}`).Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "NAME of an environment variable")
	assert.NotContains(t, err.Error(), token)
}

func TestWorkflowIDs(t *testing.T) {
	assert.Equal(t, "circleci-sync/acme", ConnectionWorkflowID("acme"))
	assert.Equal(t, "circleci-sync/acme/gh/acme/api", ProjectWorkflowID("acme", "gh/acme/api"))
}
