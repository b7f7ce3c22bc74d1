package workflows

import (
	"encoding/json"
	"errors"
	"strings"
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
	assert.Contains(t, string(b), `"overlap":"2h"`)
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
		{"bad connection id", `{"connection_id":"a b","org_slug":"gh/a"}`, []string{"connection_id (3 bytes)"}},
		{"bad org slug", `{"connection_id":"a","org_slug":"acme"}`, []string{"org_slug: want <vcs>/<org>"}},
		{"bad base url", `{"connection_id":"a","org_slug":"gh/a","base_url":"circleci.com"}`, []string{"base_url"}},
		{"base url with user info", `{"connection_id":"a","org_slug":"gh/a","base_url":"https://u:p@x.io"}`, []string{"base_url"}},
		{"bad project", `{"connection_id":"a","org_slug":"gh/a","projects":["gh/a"]}`, []string{`projects[0] (4 bytes) is not <vcs>/<org>/<project>`}},
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
			[]string{`state: project 0 (4 bytes) is not`}},
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

// invalidInput asserts err is a non-retryable invalid_input and returns its message.
func invalidInput(t *testing.T, err error) string {
	t.Helper()
	require.Error(t, err)
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app))
	assert.Equal(t, activities.ErrInvalidInput, app.Type())
	assert.True(t, app.NonRetryable())
	return app.Message()
}

func TestInputValidateRefusesTokensWithoutEchoingThem(t *testing.T) {
	for _, token := range []string{
		"CCIPAT_LEAKME7Hs9aQ2_0123456789abcdef0123456789abcdef01234567",
		"deadbeefcafe0123456789abcdef0123456789ab",
		"CCIPRJ_abcdefghij_0123456789abcdef0123456789abcdef01234567",
	} {
		for _, field := range []string{"token_env", "org_slug", "connection_id", "base_url", "since"} {
			in := map[string]any{"connection_id": "a", "org_slug": "gh/a", field: token}
			b, err := json.Marshal(in)
			require.NoError(t, err)
			msg := invalidInput(t, decodeInput(t, string(b)).Validate())
			assert.Contains(t, msg, field)
			assert.NotContains(t, msg, token[:12], "a refused value is never echoed, not even in part")
		}
		b, _ := json.Marshal(map[string]any{"connection_id": "a", "org_slug": "gh/a", "projects": []string{token}})
		assert.NotContains(t, invalidInput(t, decodeInput(t, string(b)).Validate()), token[:12])
		b, _ = json.Marshal(map[string]any{"connection_id": "a", "org_slug": "gh/a", token: 1})
		msg := invalidInput(t, decodeInput(t, string(b)).Validate())
		assert.Contains(t, msg, "unknown field of")
		assert.NotContains(t, msg, token[:12])
		psi := ProjectSyncInput{Connection: activities.Connection{ConnectionID: "a", TokenEnv: token}, ProjectSlug: token}
		msg = invalidInput(t, psi.Validate())
		assert.Contains(t, msg, "connection.token_env")
		assert.NotContains(t, msg, token[:12])
	}
}

func TestInputValidateBoundsEveryString(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	cases := []struct {
		name, field string
		value       any
		want        string
	}{
		{"connection_id 100 KB", "connection_id", long(100_000), "connection_id (100000 bytes)"},
		{"connection_id 129", "connection_id", long(MaxConnectionID + 1), "at most 128"},
		{"org_slug 1 MB", "org_slug", "gh/" + long(1<<20), "org_slug is 1048579 bytes, at most 255"},
		{"project slug", "projects", []string{"gh/a/" + long(MaxProjectSlug)}, "projects[0] is 260 bytes, at most 255"},
		{"token_env", "token_env", "A" + long(MaxTokenEnv), "at most 128"},
		{"base_url", "base_url", "https://x.io/" + long(MaxBaseURL), "base_url is 1037 bytes, at most 1024"},
		{"since", "since", "2026-01-01" + long(MaxSince), "since: want RFC 3339"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := map[string]any{"connection_id": "a", "org_slug": "gh/a", c.field: c.value}
			b, err := json.Marshal(in)
			require.NoError(t, err)
			msg := invalidInput(t, decodeInput(t, string(b)).Validate())
			assert.Contains(t, msg, c.want)
			assert.Less(t, len(msg), 600, "the refused value is not echoed")
		})
	}
}

func TestInputValidateRefusesControlCharactersAndInvalidUTF8(t *testing.T) {
	cases := []struct{ name, input, want string }{
		{"control in org_slug", `{"connection_id":"a","org_slug":"gh/ac\u0001me"}`, "org_slug contains a control character"},
		{"NUL in a project", `{"connection_id":"a","org_slug":"gh/a","projects":["gh/a/ap\u0000i"]}`, "projects[0] contains a control character"},
		{"DEL in a project", `{"connection_id":"a","org_slug":"gh/a","projects":["gh/a/ap\u007fi"]}`, "projects[0] contains a control character"},
		{"C1 in a project", `{"connection_id":"a","org_slug":"gh/a","projects":["gh/a/ap\u0085i"]}`, "projects[0] contains a control character"},
		{"tab in org_slug", "{\"connection_id\":\"a\",\"org_slug\":\"gh/a\\tb\"}", "org_slug contains a control character"},
		{"raw invalid byte", "{\"connection_id\":\"a\",\"org_slug\":\"gh/ac\xffme\"}", `field "org_slug" is not valid UTF-8`},
		{"raw invalid byte in a project", "{\"connection_id\":\"a\",\"org_slug\":\"gh/a\",\"projects\":[\"gh/a/\xc3\"]}", `field "projects" is not valid UTF-8`},
		{"lone surrogate", `{"connection_id":"a","org_slug":"gh/a","projects":["gh/a/\ud800"]}`, "projects[0] is not valid UTF-8"},
		{"control in base_url", `{"connection_id":"a","org_slug":"gh/a","base_url":"https://x.io/\u001b"}`, "base_url contains a control character"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Contains(t, invalidInput(t, decodeInput(t, c.input).Validate()), c.want)
		})
	}
}

func TestInputValidateKeepsPrintableUnicodeSlugs(t *testing.T) {
	for _, p := range []string{"gh/acme/café", "gh/acme/ünïcødé-日本", "gh/acme/100% coverage", "circleci/6f1c/0b3e"} {
		in := decodeInput(t, `{"connection_id":"a","org_slug":"gh/acmé","projects":["`+p+`"]}`)
		require.NoError(t, in.Validate(), p)
		assert.Equal(t, []string{p}, in.Projects, "decoded exactly")
	}
}

func TestInputValidateRefusesDuplicateKeys(t *testing.T) {
	cases := map[string]string{
		`"base_url"`:      `{"connection_id":"a","org_slug":"gh/a","base_url":"http://169.254.169.254","base_url":"https://circleci.com"}`,
		`"connection_id"`: `{"connection_id":"a","org_slug":"gh/a","connection\u005fid":"b"}`,
		`"next"`:          `{"connection_id":"a","org_slug":"gh/a","state":{"discovered":true,"projects":["gh/a/b"],"next":0,"next":1}}`,
	}
	for key, input := range cases {
		assert.Contains(t, invalidInput(t, decodeInput(t, input).Validate()), "the key "+key+" appears twice", input)
	}
	ok := `{"connection_id":"a","org_slug":"gh/a","state":{"discovered":true,"projects":["gh/a/b"],"outcomes":[{"status":"completed"},{"status":"completed"}]}}`
	require.NoError(t, decodeInput(t, ok).Validate(), "the same key in two objects is no duplicate")
}

func FuzzConnectionSyncInputDecode(f *testing.F) {
	f.Add([]byte(`{"connection_id":"acme","org_slug":"gh/acme","projects":["gh/acme/café"],"overlap":"1h"}`))
	f.Add([]byte(`{"connection_id":"a","org_slug":"gh/a","token_env":"CCIPAT_x_0123456789abcdef0123456789abcdef01234567"}`))
	f.Add([]byte(`{"connection_id":"a","a":{"b":[{"c":1,"c":2}]},"state":{"discovered":true,"projects":["gh/a/\u0000"]}}`))
	f.Add([]byte("{\"connection_id\":\"a\",\"org_slug\":\"gh/\xff\"}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var in ConnectionSyncInput
		if err := json.Unmarshal(b, &in); err != nil {
			if json.Valid(b) {
				t.Fatalf("decoding valid JSON failed: %v", err)
			}
			return
		}
		if err := in.Validate(); err != nil {
			return
		}
		for _, s := range append([]string{in.ConnectionID, in.OrgSlug, in.BaseURL, in.TokenEnv, in.Since}, in.Projects...) {
			if textProblem(s, MaxBaseURL) != "" {
				t.Fatalf("valid input with a bad string: %q", s)
			}
		}
		if k, dup := duplicateKey(b); dup {
			t.Fatalf("valid input with the key %q twice", k)
		}
		if len(in.OrgSlug) > MaxOrgSlug || len(in.ConnectionID) > MaxConnectionID || looksLikeToken(in.TokenEnv) {
			t.Fatalf("valid input past a limit: %+v", in)
		}
	})
}

func TestResyncRequestBoundsTheWholeRequest(t *testing.T) {
	var req ResyncRequest
	junk := `{"reason":"deploy","junk":"` + strings.Repeat("j", MaxResyncRequestBytes) + `"}`
	require.NoError(t, json.Unmarshal([]byte(junk), &req))
	msg := invalidInput(t, req.Validate())
	assert.Contains(t, msg, "resync request is 4125 bytes: at most 4096", "an accepted request goes into history whole")

	require.NoError(t, json.Unmarshal([]byte(`{"reason":"deploy","extra":1}`), &req))
	require.NoError(t, req.Validate(), "a small request with an unknown field is still served")
	assert.Equal(t, "deploy", req.Reason)
}

func TestResyncReasonRefusesControlCharacters(t *testing.T) {
	assert.Contains(t, invalidInput(t, ResyncRequest{Reason: "deploy\x1b[2J"}.Validate()), "control character")
	require.NoError(t, ResyncRequest{Reason: "déploiement 日本"}.Validate())
}

func TestProjectSyncInputValidateChecksTheConnection(t *testing.T) {
	ok := ProjectSyncInput{Connection: activities.Connection{ConnectionID: "acme"}, ProjectSlug: "gh/acme/café"}
	require.NoError(t, ok.Validate(), "org_slug stays optional")
	bad := ok
	bad.Connection = activities.Connection{ConnectionID: "ac\x00me", OrgSlug: "gh/ac\x01me", BaseURL: "https://x.io/\x7f"}
	msg := invalidInput(t, bad.Validate())
	for _, want := range []string{"connection.connection_id (5 bytes)", "connection.org_slug contains a control character",
		"connection.base_url contains a control character"} {
		assert.Contains(t, msg, want)
	}
}

func TestInputIncludeAndTestsJobs(t *testing.T) {
	in := ConnectionSyncInput{ConnectionID: "acme", OrgSlug: "gh/acme", Include: []string{"job_details", "tests"},
		TestsJobs: "^(unit|e2e)-tests$"}
	require.NoError(t, in.Validate())
	require.Equal(t, activities.JobExtras{Details: true, Tests: true, TestsJobs: "^(unit|e2e)-tests$"}, in.extras())
	require.False(t, ConnectionSyncInput{}.extras().Any(), "none by default")

	var decoded ConnectionSyncInput
	require.NoError(t, json.Unmarshal([]byte(`{"connection_id":"acme","org_slug":"gh/acme","include":["artifacts"],
		"tests_jobs":"("}`), &decoded))
	msg := invalidInput(t, decoded.Validate())
	assert.Contains(t, msg, `include[0] (9 bytes): want "job_details" or "tests"`)
	assert.NotContains(t, msg, "artifacts", "a refused value is not echoed")
	assert.Contains(t, msg, "tests_jobs: applies only when include lists \"tests\"")
	assert.Contains(t, msg, "tests_jobs (1 bytes): want a regular expression")

	p := ProjectSyncInput{Connection: activities.Connection{ConnectionID: "acme"}, ProjectSlug: "gh/acme/api",
		Extras: activities.JobExtras{Tests: true, TestsJobs: "["}}
	assert.Contains(t, invalidInput(t, p.Validate()), "extras.tests_jobs")
}
