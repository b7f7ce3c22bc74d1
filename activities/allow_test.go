package activities

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
)

// TestConnectionAllowlists: a base URL the worker does not allow, or a token
// variable outside its pattern, is refused before the token is read or any
// request made, whatever the activity.
func TestConnectionAllowlists(t *testing.T) {
	f := newFixture(t, circlecitest.Options{Seed: 3, Projects: 1, PipelinesPerProject: 2}, openSQLite(t))
	reads := 0
	lookups := map[string]string{tokenEnv: testToken, "DATABASE_URL": "postgres://u:secret@db/x"}
	f.a.Credentials = EnvCredentials{Lookup: func(k string) (string, bool) { reads++; v, ok := lookups[k]; return v, ok }}
	slug := firstProject(f)

	f.a.AllowedBaseURLs = []string{"https://circleci.com"}
	err := run(t, f.a.VerifyConnection, VerifyInput{Connection: f.conn}, nil)
	ae := requireAppError(t, err, ErrInvalidInput, true)
	require.Contains(t, ae.Error(), f.srv.URL)
	require.Contains(t, ae.Error(), "CIRCLECI_ALLOWED_BASE_URLS")
	err = run(t, f.a.SyncPipelinePage, PageInput{Connection: f.conn, ProjectSlug: slug, PageNumber: 1}, nil)
	requireAppError(t, err, ErrInvalidInput, true)
	require.Zero(t, reads, "no token was read")
	require.Zero(t, f.srv.Stats().Total, "no request was made")

	f.a.AllowedBaseURLs = []string{"https://circleci.com", f.srv.URL + "/api/v2/"}
	require.NoError(t, run(t, f.a.StartProject, StartProjectInput{Connection: f.conn, ProjectSlug: slug}, nil),
		"the base URL is allowed in another spelling")
	f.a.AllowedBaseURLs = []string{AnyBaseURL}
	require.NoError(t, run(t, f.a.StartProject, StartProjectInput{Connection: f.conn, ProjectSlug: slug}, nil))

	f.a.TokenEnvPattern = regexp.MustCompile(`^([A-Za-z0-9_]+_)?CIRCLECI_TOKEN$`)
	reads = 0
	bad := f.conn
	bad.TokenEnv = "DATABASE_URL"
	err = run(t, f.a.StartProject, StartProjectInput{Connection: bad, ProjectSlug: slug}, nil)
	ae = requireAppError(t, err, ErrInvalidInput, true)
	require.Contains(t, ae.Error(), `token_env (12 bytes) is not a variable this worker reads tokens from`)
	require.NotContains(t, ae.Error(), "DATABASE_URL", "a refused token_env is never echoed: it may be a token")
	require.NotContains(t, ae.Error(), "secret")
	require.Zero(t, reads)
}

func TestCanonicalBaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"":                                   "https://circleci.com",
		"https://CircleCI.com/":              "https://circleci.com",
		"https://circleci.com/api/v2":        "https://circleci.com",
		"https://ci.example.com/x/api/v1.1/": "https://ci.example.com/x",
		" http://127.0.0.1:8080 ":            "http://127.0.0.1:8080",
	} {
		require.Equal(t, want, CanonicalBaseURL(in), in)
	}
}
