package activities

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/circleci/webhooks"
	"github.com/circleci-sync/circleci-sync/store"
)

func TestVerifyConnection(t *testing.T) {
	f := newFixture(t, circlecitest.Options{Seed: 4, Projects: 3, PipelinesPerProject: 5}, openSQLite(t))
	ex := f.srv.Expected(testToken)

	var rep VerifyReport
	require.NoError(t, run(t, f.a.VerifyConnection, VerifyInput{Connection: f.conn}, &rep))
	require.Equal(t, ex.Me.Login, rep.UserLogin)
	require.Equal(t, len(ex.FollowedProjects), rep.FollowedProjects)
	require.Len(t, rep.Organizations, len(ex.Collaborations))
	var names []string
	for _, s := range rep.Steps {
		names = append(names, s.Name)
		require.True(t, s.OK, "step %s: %s", s.Name, s.Detail)
		require.Equal(t, 200, s.HTTPStatus)
	}
	require.Equal(t, []string{"org_pipelines", "project_pipelines", "me", "collaborations", "followed_projects"}, names)
	require.Equal(t, int64(5), rep.Requests)
	require.Equal(t, int64(5), f.srv.Stats().Total)

	// A configured project that does not exist fails only its own sync.
	rep = VerifyReport{}
	require.NoError(t, run(t, f.a.VerifyConnection, VerifyInput{Connection: f.conn, Projects: []string{"gh/acme/nope"}}, &rep))
	require.False(t, rep.Steps[1].OK)
	require.Equal(t, stepProjectPipelines, rep.Steps[1].Name)
	require.Equal(t, 404, rep.Steps[1].HTTPStatus)
	require.Contains(t, rep.Steps[1].Detail, "gh/acme/nope")
	require.Contains(t, rep.Steps[1].Detail, ErrProjectNotFound)

	// An org with nothing the token sees.
	var err error
	conn := f.conn
	conn.OrgSlug = "gh/somebody-else"
	err = run(t, f.a.VerifyConnection, VerifyInput{Connection: conn}, nil)
	ae := requireAppError(t, err, ErrNoResources, true)
	require.Contains(t, ae.Error(), "gh/somebody-else")

	// A bad token.
	bad := *f.a
	bad.Credentials = EnvCredentials{Lookup: lookup(map[string]string{tokenEnv: "not-" + testToken})}
	err = run(t, bad.VerifyConnection, VerifyInput{Connection: f.conn}, nil)
	ae = requireAppError(t, err, ErrInvalidCredentials, true)
	require.Contains(t, ae.Error(), "$"+tokenEnv)
	require.Contains(t, ae.Error(), "personal API token")
	require.NotContains(t, ae.Error(), "not-"+testToken)

	// Transient failures stay retryable.
	f.srv.SetFaults(circlecitest.Faults{Random500Rate: 1})
	err = run(t, f.a.VerifyConnection, VerifyInput{Connection: f.conn}, nil)
	requireAppError(t, err, ErrServer, false)
}

// TestVerifyConnectionRunsItsBranchesAtOnce: the org pipeline list, /me,
// collaborations and the followed projects are asked at once (a first sync
// waits a round trip or three for its verification, not five). A new client's
// pacer lets one request go first, to learn the budget from its headers (the
// limiter's probe); the fake holds each later one until three are in flight,
// or 5 s.
func TestVerifyConnectionRunsItsBranchesAtOnce(t *testing.T) {
	f := newFixture(t, circlecitest.Options{Seed: 4, Projects: 3, PipelinesPerProject: 5}, openSQLite(t))
	fake := circlecitest.NewHandler(circlecitest.Options{Seed: 4, Projects: 3, PipelinesPerProject: 5, Token: testToken})
	var mu sync.Mutex
	inFlight, most, seen := 0, 0, 0
	three := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		seen++
		first := seen == 1
		most = max(most, inFlight)
		if inFlight == 3 {
			close(three)
		}
		mu.Unlock()
		if !first {
			select {
			case <-three:
			case <-time.After(5 * time.Second):
			}
		}
		fake.ServeHTTP(w, r)
		mu.Lock()
		inFlight--
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	conn := f.conn
	conn.BaseURL = srv.URL

	var rep VerifyReport
	require.NoError(t, run(t, f.a.VerifyConnection, VerifyInput{Connection: conn}, &rep))
	// After the limiter's probe (whichever branch sends it), the other branches'
	// requests overlap: three, or four when the probe was the org pipelines'
	// (its branch's project request then joins the other three).
	require.GreaterOrEqual(t, most, 3, "requests in flight at once")
	require.LessOrEqual(t, most, 4, "requests in flight at once")
	var names []string
	for _, s := range rep.Steps {
		names = append(names, s.Name)
	}
	require.Equal(t, []string{"org_pipelines", "project_pipelines", "me", "collaborations", "followed_projects"}, names)
	require.Equal(t, int64(5), rep.Requests)
}

// TestVerifyConnectionMissingConfiguredProjects: configured projects that answer
// 404 are failed steps, the next ones are tried (3 at most), and the connection
// verifies; a 403 there stays fatal.
func TestVerifyConnectionMissingConfiguredProjects(t *testing.T) {
	f := newFixture(t, circlecitest.Options{Seed: 4, Projects: 3, PipelinesPerProject: 5}, openSQLite(t))
	existing := firstProject(f)

	var rep VerifyReport
	require.NoError(t, run(t, f.a.VerifyConnection, VerifyInput{Connection: f.conn,
		Projects: []string{"gh/acme/missing", existing}}, &rep))
	type step struct {
		Name string
		OK   bool
	}
	var steps []step
	for _, s := range rep.Steps {
		steps = append(steps, step{s.Name, s.OK})
	}
	require.Equal(t, []step{{stepOrgPipelines, true}, {stepProjectPipelines, false}, {stepProjectPipelines, true},
		{stepMe, true}, {stepCollaborations, true}, {stepFollowedProjects, true}}, steps)
	require.Contains(t, rep.Steps[1].Detail, "gh/acme/missing")
	require.Contains(t, rep.Steps[1].Detail, "not found")
	require.Contains(t, rep.Steps[2].Detail, existing)
	require.Equal(t, int64(6), rep.Requests)

	// At most three configured projects are tried.
	f.srv.ResetStats()
	require.NoError(t, run(t, f.a.VerifyConnection, VerifyInput{Connection: f.conn,
		Projects: []string{"gh/acme/m1", "gh/acme/m2", " ", "gh/acme/m3", existing}}, &rep))
	require.Equal(t, int64(3), f.srv.Stats().Count(circlecitest.RouteProjectPipelines, 404))
	require.Zero(t, f.srv.Stats().Count(circlecitest.RouteProjectPipelines, 200))

	// A 403 on a configured project stays fatal.
	proxy := newProxy(t, f.srv.URL, func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "/project/") {
			answer(w, http.StatusForbidden, `{"message":"Permission denied"}`)
			return true
		}
		return false
	})
	conn := f.conn
	conn.BaseURL = proxy.URL
	err := run(t, f.a.VerifyConnection, VerifyInput{Connection: conn, Projects: []string{existing}}, nil)
	requireAppError(t, err, ErrInvalidPermissions, true)
}

// TestVerifyConnectionMissingDiscoveredProject: without configured projects,
// the project check takes the project of the newest org pipeline; when it
// answers 404 (deleted, renamed, hidden) the step fails and the next distinct
// project of the org pipelines is tried (3 at most); the connection verifies. A
// 401 there stays fatal.
func TestVerifyConnectionMissingDiscoveredProject(t *testing.T) {
	f := newFixture(t, circlecitest.Options{Seed: 4, Projects: 6, PipelinesPerProject: 5}, openSQLite(t))
	ctx := context.Background()
	cl, err := f.a.Clients.Client(ctx, f.conn, f.a.Credentials)
	require.NoError(t, err)
	page, err := cl.OrgPipelinesPage(ctx, f.conn.OrgSlug, "")
	require.NoError(t, err)
	var distinct []string
	for _, p := range page.Items {
		if !slices.Contains(distinct, p.ProjectSlug) {
			distinct = append(distinct, p.ProjectSlug)
		}
	}
	require.GreaterOrEqual(t, len(distinct), 2)
	newest := distinct[0]
	missing := map[string]bool{newest: true}
	var mu sync.Mutex
	status := http.StatusNotFound
	proxy := newProxy(t, f.srv.URL, func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		for slug := range missing {
			if r.URL.Path == "/api/v2/project/"+slug+"/pipeline" {
				answer(w, status, `{"message":"Project not found"}`)
				return true
			}
		}
		return false
	})
	conn := f.conn
	conn.BaseURL = proxy.URL

	var rep VerifyReport
	require.NoError(t, run(t, f.a.VerifyConnection, VerifyInput{Connection: conn}, &rep))
	type step struct {
		Name string
		OK   bool
	}
	var steps []step
	for _, s := range rep.Steps {
		steps = append(steps, step{s.Name, s.OK})
	}
	require.Equal(t, []step{{stepOrgPipelines, true}, {stepProjectPipelines, false}, {stepProjectPipelines, true},
		{stepMe, true}, {stepCollaborations, true}, {stepFollowedProjects, true}}, steps)
	require.Equal(t, http.StatusNotFound, rep.Steps[1].HTTPStatus)
	require.Contains(t, rep.Steps[1].Detail, newest)
	require.Contains(t, rep.Steps[1].Detail, "deleted or renamed")
	require.Contains(t, rep.Steps[2].Detail, distinct[1])
	require.Equal(t, int64(6), rep.Requests)

	// Every project 404: at most three are tried, the connection still verifies.
	mu.Lock()
	for _, s := range distinct {
		missing[s] = true
	}
	mu.Unlock()
	f.srv.ResetStats()
	rep = VerifyReport{}
	require.NoError(t, run(t, f.a.VerifyConnection, VerifyInput{Connection: conn}, &rep))
	tried := min(len(distinct), verifyMaxProjects)
	require.Equal(t, int64(3+1+tried), rep.Requests)
	for _, s := range rep.Steps[1 : 1+tried] {
		require.Equal(t, stepProjectPipelines, s.Name)
		require.False(t, s.OK)
	}

	// A 401 on the project check stays fatal.
	mu.Lock()
	status = http.StatusUnauthorized
	mu.Unlock()
	err = run(t, f.a.VerifyConnection, VerifyInput{Connection: conn}, nil)
	requireAppError(t, err, ErrInvalidCredentials, true)
}

func TestDecideVerify(t *testing.T) {
	conn := Connection{ConnectionID: "c", OrgSlug: "gh/acme", TokenEnv: "TOK"}
	fail := func(class circleci.Class, status int, route string) *circleci.Error {
		return &circleci.Error{Class: class, StatusCode: status, Route: route, Message: "nope"}
	}
	followed := []circleci.FollowedProject{{VCSURL: "https://github.com/acme/widgets", Username: "acme", Reponame: "widgets"}}
	for _, tc := range []struct {
		name     string
		failures map[string]*circleci.Error
		followed []circleci.FollowedProject
		want     string
	}{
		{"ok", nil, followed, ""},
		{"401 on me", map[string]*circleci.Error{stepMe: fail(circleci.ClassUnauthorized, 401, circleci.RouteMe)}, followed, ErrInvalidCredentials},
		{"404 everywhere", map[string]*circleci.Error{
			stepOrgPipelines: fail(circleci.ClassNotFound, 404, circleci.RouteOrgPipelines),
			stepMe:           fail(circleci.ClassNotFound, 404, circleci.RouteMe),
		}, nil, ErrInvalidCredentials},
		{"org 404", map[string]*circleci.Error{stepOrgPipelines: fail(circleci.ClassNotFound, 404, circleci.RouteOrgPipelines)}, followed, ErrInvalidPermissions},
		{"org 403", map[string]*circleci.Error{stepOrgPipelines: fail(circleci.ClassForbidden, 403, circleci.RouteOrgPipelines)}, followed, ErrInvalidPermissions},
		{"nothing visible", nil, []circleci.FollowedProject{{VCSURL: "https://github.com/other/x"}}, ErrNoResources},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.failures == nil {
				tc.failures = map[string]*circleci.Error{}
			}
			err := decideVerify(conn, conn.OrgSlug, "", nil, nil, tc.followed, tc.failures)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			requireAppError(t, err, tc.want, true)
			if tc.name == "org 404" {
				require.Contains(t, err.Error(), `"gh/acme"`)
				require.Contains(t, err.Error(), "circleci/<org-id>")
			}
		})
	}
}

func TestInOrg(t *testing.T) {
	require.True(t, webhooks.InOrg("gh/acme", "gh/acme/widgets"))
	require.True(t, webhooks.InOrg("gh/Acme", "github/acme/widgets"))
	require.True(t, webhooks.InOrg("bitbucket/acme", "bb/acme/widgets"))
	require.True(t, webhooks.InOrg("circleci/OrgID", "circleci/OrgID/ProjID"))
	require.False(t, webhooks.InOrg("gh/acme", "gh/acme-2/widgets"))
	require.False(t, webhooks.InOrg("gh/acme", "bb/acme/widgets"))
	require.False(t, webhooks.InOrg("gh/acme", "gh/acme"))
	require.False(t, webhooks.InOrg("", "gh/acme/widgets"))
}

func TestDiscoverConfiguredProjects(t *testing.T) {
	f := newFixture(t, circlecitest.Options{Seed: 4, Projects: 1, PipelinesPerProject: 1}, openSQLite(t))
	ctx := context.Background()
	require.NoError(t, f.tdb.st.SaveConnectionState(ctx, store.ConnectionState{ConnectionID: f.conn.ConnectionID,
		LastRunAt: at(1), LastRun: map[string]int64{"pipelines": 3}}))
	var res DiscoverResult
	require.NoError(t, run(t, f.a.DiscoverProjects, DiscoverInput{Connection: f.conn,
		Projects: []string{"gh/acme/b", " gh/acme/a", "gh/acme/b", ""}}, &res))
	require.Equal(t, []string{"gh/acme/a", "gh/acme/b"}, res.Projects)
	require.Zero(t, res.Requests)
	require.Zero(t, f.srv.Stats().Total)
	st, err := f.tdb.st.ConnectionState(ctx, f.conn.ConnectionID)
	require.NoError(t, err)
	require.Equal(t, res.Projects, st.Projects)
	require.Equal(t, "gh/acme", st.OrgSlug)
	require.Equal(t, f.srv.URL, st.BaseURL)
	require.Equal(t, at(1), st.LastRunAt)
	require.Equal(t, map[string]int64{"pipelines": 3}, st.LastRun)

	// An org without projects.
	conn := f.conn
	conn.OrgSlug = "bb/nobody"
	err = run(t, f.a.DiscoverProjects, DiscoverInput{Connection: conn}, nil)
	requireAppError(t, err, ErrNoResources, true)
}

func TestCredentials(t *testing.T) {
	ctx := context.Background()
	env := func(name string) Connection { return Connection{ConnectionID: "acme", TokenEnv: name} }
	c := EnvCredentials{Lookup: lookup(map[string]string{"SET": "  tok\n", "EMPTY": "", "BLANK": " \t"})}
	tok, err := c.Token(ctx, env("SET"))
	require.NoError(t, err)
	require.Equal(t, "tok", tok)
	for _, name := range []string{"UNSET", "EMPTY", "BLANK"} {
		_, err := c.Token(ctx, env(name))
		ae := requireAppError(t, err, ErrMissingCredentials, true)
		require.Contains(t, ae.Error(), `environment variable "`+name+`" is not set on the worker`)
		require.Contains(t, ae.Error(), name+"_FILE")
		require.Contains(t, ae.Error(), EnvCredentialsDir)
	}
	for _, name := range []string{"", "1ABC", "A-B", "A B", "A=B"} {
		_, err := c.Token(ctx, env(name))
		requireAppError(t, err, ErrInvalidInput, true)
	}
	t.Setenv("ACTIVITIES_TEST_TOKEN_VAR", "from-env")
	tok, err = EnvCredentials{}.Token(ctx, env("ACTIVITIES_TEST_TOKEN_VAR"))
	require.NoError(t, err)
	require.Equal(t, "from-env", tok)
}

// TestCredentialsFromFiles reads tokens from <TOKEN_ENV>_FILE and from the
// per-connection directory, the variable first; a named file that is missing,
// empty or unreadable is a missing credential naming the file, never its content.
func TestCredentialsFromFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(secretFile, []byte("from-file-token\n"), 0o600))
	perConn := filepath.Join(dir, "conns")
	require.NoError(t, os.Mkdir(perConn, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(perConn, "acme"), []byte(" acme-token "), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(perConn, "empty"), nil, 0o600))

	vars := map[string]string{"TOK_FILE": secretFile, "BOTH": "from-env", "BOTH_FILE": secretFile,
		"GONE_FILE": filepath.Join(dir, "nope"), EnvCredentialsDir: perConn}
	c := EnvCredentials{Lookup: lookup(vars)}
	for _, tc := range []struct {
		conn Connection
		want string
	}{
		{Connection{ConnectionID: "x", TokenEnv: "TOK"}, "from-file-token"},
		{Connection{ConnectionID: "x", TokenEnv: "BOTH"}, "from-env"},
		{Connection{ConnectionID: "acme", TokenEnv: "UNSET"}, "acme-token"},
	} {
		tok, err := c.Token(ctx, tc.conn)
		require.NoError(t, err, "%+v", tc.conn)
		require.Equal(t, tc.want, tok)
	}
	// Dir overrides the variable.
	tok, err := EnvCredentials{Lookup: lookup(nil), Dir: perConn}.Token(ctx, Connection{ConnectionID: "acme", TokenEnv: "UNSET"})
	require.NoError(t, err)
	require.Equal(t, "acme-token", tok)

	for _, tc := range []struct {
		conn Connection
		says string
	}{
		{Connection{ConnectionID: "x", TokenEnv: "GONE"}, "no such file or directory"},
		{Connection{ConnectionID: "empty", TokenEnv: "UNSET"}, "is empty"},
		{Connection{ConnectionID: "other", TokenEnv: "UNSET"}, `has no file "other"`},
		{Connection{ConnectionID: "../conns/acme", TokenEnv: "UNSET"}, "is not set on the worker"},
	} {
		_, err := c.Token(ctx, tc.conn)
		ae := requireAppError(t, err, ErrMissingCredentials, true)
		require.Contains(t, ae.Error(), tc.says, "%+v", tc.conn)
		require.NotContains(t, ae.Error(), "token\n")
		require.NotContains(t, ae.Error(), "acme-token")
	}
	if os.Geteuid() != 0 { // root reads any file
		unreadable := filepath.Join(dir, "unreadable")
		require.NoError(t, os.WriteFile(unreadable, []byte("x"), 0o000))
		_, err = EnvCredentials{Lookup: lookup(map[string]string{"U_FILE": unreadable})}.Token(ctx, Connection{TokenEnv: "U"})
		require.Contains(t, requireAppError(t, err, ErrMissingCredentials, true).Error(), "permission denied")
	}
}

func TestMissingCredentialsFailActivities(t *testing.T) {
	f := newFixture(t, circlecitest.Options{Seed: 4, Projects: 1, PipelinesPerProject: 1}, openSQLite(t))
	conn := f.conn
	conn.TokenEnv = "NOT_SET_ANYWHERE"
	err := run(t, f.a.VerifyConnection, VerifyInput{Connection: conn}, nil)
	ae := requireAppError(t, err, ErrMissingCredentials, true)
	require.Contains(t, ae.Error(), "NOT_SET_ANYWHERE")
	err = run(t, f.a.SyncPipelinePage, PageInput{Connection: conn, ProjectSlug: "gh/acme/x"}, nil)
	requireAppError(t, err, ErrMissingCredentials, true)
	require.Zero(t, f.srv.Stats().Total)
}

func TestClientCache(t *testing.T) {
	ctx := context.Background()
	creds := EnvCredentials{Lookup: lookup(map[string]string{"A": "token-a", "B": "token-b"})}
	c := NewClientCache(ClientOptions{UserAgent: "test"})
	conn := Connection{ConnectionID: "c", BaseURL: "http://127.0.0.1:1", TokenEnv: "A"}
	a1, err := c.Client(ctx, conn, creds)
	require.NoError(t, err)
	a2, err := c.Client(ctx, conn, creds)
	require.NoError(t, err)
	require.Same(t, a1, a2)
	connB := conn
	connB.TokenEnv = "B"
	b, err := c.Client(ctx, connB, creds)
	require.NoError(t, err)
	require.NotSame(t, a1, b)
	require.NotSame(t, a1.Limiter(), b.Limiter())
	for k := range c.clients {
		require.NotContains(t, k, "token-a")
		require.NotContains(t, k, "token-b")
	}
	// Another cache shares the token's limiter.
	other, err := NewClientCache(ClientOptions{}).Client(ctx, conn, creds)
	require.NoError(t, err)
	require.Same(t, a1.Limiter(), other.Limiter())

	// Defaults: a zero ClientCache, a nil one, an empty base URL.
	var zero ClientCache
	d, err := zero.Client(ctx, Connection{TokenEnv: "A"}, creds)
	require.NoError(t, err)
	require.Equal(t, circleci.DefaultBaseURL, d.BaseURL())
	var nilCache *ClientCache
	_, err = nilCache.Client(ctx, conn, creds)
	require.NoError(t, err)

	// Clients of different tokens share one transport: the second reuses the
	// first one's idle connection.
	var conns atomic.Int64
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		answer(w, http.StatusOK, `{"id":"u1","login":"jdoe","name":"J. Doe"}`)
	}))
	hs.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	hs.Start()
	t.Cleanup(hs.Close)
	shared := NewClientCache(ClientOptions{})
	for _, env := range []string{"A", "B", "A"} {
		cl, err := shared.Client(ctx, Connection{BaseURL: hs.URL, TokenEnv: env}, creds)
		require.NoError(t, err)
		_, err = cl.Me(ctx)
		require.NoError(t, err)
	}
	require.Len(t, shared.clients, 2)
	require.Equal(t, int64(1), conns.Load(), "each token's client opened its own connection")

	// A bad base URL.
	bad := conn
	bad.BaseURL = "ftp://user:token-a@example.com"
	_, err = c.Client(ctx, bad, creds)
	ae := requireAppError(t, err, ErrInvalidInput, true)
	require.NotContains(t, ae.Error(), "token-a")
}

func TestApplicationError(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		err          error
		errType      string
		nonRetryable bool
	}{
		{&circleci.Error{Class: circleci.ClassUnauthorized, StatusCode: 401}, ErrInvalidCredentials, true},
		{&circleci.Error{Class: circleci.ClassForbidden, StatusCode: 403}, ErrInvalidPermissions, true},
		{&circleci.Error{Class: circleci.ClassNotFound, StatusCode: 404, Route: circleci.RouteProjectPipelines}, ErrProjectNotFound, true},
		{&circleci.Error{Class: circleci.ClassServer, StatusCode: 502}, ErrServer, false},
		{&circleci.Error{Class: circleci.ClassTransport}, ErrTransport, false},
		{&circleci.Error{Class: circleci.ClassDecode, StatusCode: 200}, ErrBadResponse, false},
		{&circleci.Error{Class: circleci.ClassPagination}, ErrBadResponse, false},
		{&circleci.Error{Class: circleci.ClassBadRequest, StatusCode: 400}, ErrBadResponse, false},
		{store.ErrInvalidItem, ErrInvalidInput, true},
		{context.DeadlineExceeded, ErrStore, false}, // not cancelled: ctx is alive
	} {
		err := applicationError(ctx, tc.err, "do x")
		ae := requireAppError(t, err, tc.errType, tc.nonRetryable)
		require.True(t, strings.HasPrefix(ae.Error(), "do x: "), ae.Error())
	}

	// 429: NextRetryDelay from Retry-After, at least a second.
	ae := appError(t, applicationError(ctx, &circleci.Error{Class: circleci.ClassRateLimited, StatusCode: 429, RetryAfter: 7e9}, "x"))
	require.Equal(t, ErrRateLimited, ae.Type())
	require.False(t, ae.NonRetryable())
	require.Equal(t, int64(7e9), int64(ae.NextRetryDelay()))
	require.Equal(t, temporal.ApplicationErrorCategoryBenign, ae.Category())
	ae = appError(t, applicationError(ctx, &circleci.Error{Class: circleci.ClassRateLimited, StatusCode: 429}, "x"))
	require.Equal(t, int64(1e9), int64(ae.NextRetryDelay()))

	// bad_response stays retryable for 9 attempts (429s and timeouts count too).
	for n := int32(1); n < badResponseAttempts; n++ {
		requireAppError(t, badResponseAt(n, "x"), ErrBadResponse, false)
	}
	requireAppError(t, badResponseAt(badResponseAttempts, "x"), ErrBadResponse, true)
	requireAppError(t, badResponseAt(badResponseAttempts+1, "x"), ErrBadResponse, true)
	require.Equal(t, 10, badResponseAttempts)

	// Pass-through.
	require.NoError(t, applicationError(ctx, nil, "x"))
	orig := temporal.NewNonRetryableApplicationError("m", ErrNoResources, nil)
	require.Same(t, orig, applicationError(ctx, orig, "x"))
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	require.Equal(t, context.Canceled, applicationError(cctx, context.Canceled, "x"))
}

// TestVerifyConnectionSkipsWhenRecent: a connection verified within
// ReverifyAfter is not checked again (no request); another org or base URL, or
// an old verification, is. A token revoked since is caught by discovery's first
// request, which runs the diagnostic sequence: the failure is the same
// invalid_credentials with its advice.
func TestVerifyConnectionSkipsWhenRecent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, tdb testDB) {
		f := newFixture(t, circlecitest.Options{Seed: 4, Projects: 3, PipelinesPerProject: 5}, tdb)
		f.a.ReverifyAfter = 0 // DefaultReverifyAfter
		ctx := context.Background()
		var rep VerifyReport
		require.NoError(t, run(t, f.a.VerifyConnection, VerifyInput{Connection: f.conn}, &rep))
		require.False(t, rep.Skipped)
		require.False(t, rep.VerifiedAt.IsZero())
		st, err := tdb.st.ConnectionState(ctx, f.conn.ConnectionID)
		require.NoError(t, err)
		require.WithinDuration(t, rep.VerifiedAt, st.VerifiedAt, time.Millisecond)

		f.srv.ResetStats()
		rep = VerifyReport{}
		require.NoError(t, run(t, f.a.VerifyConnection, VerifyInput{Connection: f.conn}, &rep))
		require.True(t, rep.Skipped)
		require.Zero(t, rep.Requests)
		require.Zero(t, f.srv.Stats().Total)

		other := f.conn
		other.OrgSlug = "bb/acme"
		rep = VerifyReport{}
		require.NoError(t, run(t, f.a.VerifyConnection, VerifyInput{Connection: other}, &rep))
		require.False(t, rep.Skipped, "another org is verified")

		st, err = tdb.st.ConnectionState(ctx, f.conn.ConnectionID)
		require.NoError(t, err)
		st.OrgSlug = f.conn.OrgSlug
		st.VerifiedAt = time.Now().Add(-DefaultReverifyAfter - time.Minute)
		require.NoError(t, tdb.st.SaveConnectionState(ctx, st))
		rep = VerifyReport{}
		require.NoError(t, run(t, f.a.VerifyConnection, VerifyInput{Connection: f.conn}, &rep))
		require.False(t, rep.Skipped, "an old verification is done again")

		// The token is revoked: verification is skipped (recent), discovery
		// fails with the diagnosis.
		require.NoError(t, run(t, f.a.DiscoverProjects, DiscoverInput{Connection: f.conn}, nil))
		bad := *f.a
		bad.Credentials = EnvCredentials{Lookup: lookup(map[string]string{tokenEnv: "revoked-" + testToken})}
		rep = VerifyReport{}
		require.NoError(t, run(t, bad.VerifyConnection, VerifyInput{Connection: f.conn}, &rep))
		require.True(t, rep.Skipped)
		err = run(t, bad.DiscoverProjects, DiscoverInput{Connection: f.conn}, nil)
		ae := requireAppError(t, err, ErrInvalidCredentials, true)
		require.Contains(t, ae.Error(), "personal API token")
	})
}
