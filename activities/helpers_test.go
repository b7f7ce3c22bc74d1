package activities

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" database/sql driver, to read tables in tests
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	_ "modernc.org/sqlite" // "sqlite" database/sql driver, to read tables in tests

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/internal/testenv"
	"github.com/circleci-sync/circleci-sync/store"
)

// testToken is the fake's token in these tests: distinctive, so that a leak into an
// error message is easy to spot.
const testToken = "tok-SECRET-5f3a9c1e77"

// tokenEnv is the name of the environment variable the tests' credentials serve.
const tokenEnv = "CIRCLECI_TEST_TOKEN"

// testDB is a fresh store with a database/sql handle on the same database.
type testDB struct {
	name string
	st   store.Store
	db   *sql.DB
}

// backends returns a fresh SQLite store, and a fresh PostgreSQL one (in its own
// schema) when TEST_DATABASE_URL is set.
func backends(t *testing.T) []testDB {
	t.Helper()
	out := []testDB{openSQLite(t)}
	if os.Getenv("TEST_DATABASE_URL") != "" {
		out = append(out, openPostgres(t))
	}
	return out
}

// forEachBackend runs test against a fresh store of each backend.
func forEachBackend(t *testing.T, test func(t *testing.T, tdb testDB)) {
	t.Helper()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { test(t, b) })
	}
}

func openSQLite(t *testing.T) testDB {
	u := testenv.SQLiteURL(t)
	return openTestDB(t, "sqlite", u, "sqlite", strings.TrimPrefix(u, "sqlite://"))
}

func openPostgres(t *testing.T) testDB {
	u := testenv.PostgresURL(t)
	return openTestDB(t, "postgres", u, "pgx", u)
}

// openTestDB opens the store at dbURL and a database/sql handle on it.
func openTestDB(t *testing.T, name, dbURL, driver, dsn string) testDB {
	t.Helper()
	st, err := store.Open(context.Background(), dbURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	db, err := sql.Open(driver, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return testDB{name: name, st: st, db: db}
}

// ids returns the sorted values of column col of table.
func (d testDB) ids(t *testing.T, table, col string) []string {
	t.Helper()
	rows, err := d.db.Query("SELECT " + col + " FROM " + table)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	slices.Sort(out)
	return out
}

// fixture is a fake CircleCI, a store and Activities wired to both.
type fixture struct {
	srv  *circlecitest.Server
	tdb  testDB
	a    *Activities
	conn Connection
}

// newFixture starts a fake CircleCI with opts (its token is testToken) and builds
// Activities over tdb that read the token from tokenEnv.
func newFixture(t *testing.T, opts circlecitest.Options, tdb testDB) *fixture {
	t.Helper()
	opts.Token = testToken
	srv := circlecitest.NewServer(opts)
	t.Cleanup(srv.Close)
	a := &Activities{
		Store:       tdb.st,
		Credentials: EnvCredentials{Lookup: lookup(map[string]string{tokenEnv: testToken})},
		Clients: NewClientCache(ClientOptions{
			Limiter: circleci.LimiterOptions{RequestsPerSecond: 1000, Burst: 1000, MaxConcurrent: 32},
		}),
		retryDelays: []time.Duration{time.Millisecond, 2 * time.Millisecond},
		// Every VerifyConnection checks (TestVerifyConnectionSkipsWhenRecent
		// tests the default).
		ReverifyAfter: -1,
	}
	return &fixture{srv: srv, tdb: tdb, a: a, conn: Connection{
		ConnectionID: "conn-1", OrgSlug: "gh/acme", BaseURL: srv.URL, TokenEnv: tokenEnv,
	}}
}

// lookup serves environment variables from m.
func lookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// run executes activity fn with in in a test activity environment and decodes its
// result into out (when not nil). setup, when not nil, prepares the environment
// (heartbeat details, listeners).
func run(t *testing.T, fn, in, out any, setup ...func(env *testsuite.TestActivityEnvironment)) error {
	t.Helper()
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(fn)
	for _, s := range setup {
		s(env)
	}
	val, err := env.ExecuteActivity(fn, in)
	if err != nil {
		require.NotContains(t, err.Error(), testToken, "an error message contains the token")
		return err
	}
	if out != nil && val != nil {
		require.NoError(t, val.Get(out))
	}
	return nil
}

// appError returns err's ApplicationError, failing the test when there is none.
func appError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	require.Error(t, err)
	var ae *temporal.ApplicationError
	require.True(t, errors.As(err, &ae), "not an ApplicationError: %v", err)
	require.NotContains(t, ae.Error(), testToken)
	return ae
}

// requireAppError checks err's ApplicationError type and retryability.
func requireAppError(t *testing.T, err error, errType string, nonRetryable bool) *temporal.ApplicationError {
	t.Helper()
	ae := appError(t, err)
	require.Equal(t, errType, ae.Type(), "error: %v", err)
	require.Equal(t, nonRetryable, ae.NonRetryable(), "error: %v", err)
	return ae
}

// projectPipelines returns the expected pipelines of slug, newest first.
func projectPipelines(ex circlecitest.Expected, slug string) []circlecitest.Pipeline {
	var out []circlecitest.Pipeline
	for _, p := range ex.Pipelines {
		if p.ProjectSlug == slug {
			out = append(out, p)
		}
	}
	return out
}

// sortedIDs returns the sorted ids f picks from items.
func sortedIDs[T any](items []T, f func(T) string) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, f(it))
	}
	slices.Sort(out)
	return out
}

// orgOf returns the org slug (vcs/org) of a project slug.
func orgOf(slug string) string {
	parts := strings.SplitN(slug, "/", 3)
	return parts[0] + "/" + parts[1]
}

// at is a fixed time, n hours after 2025-01-01.
func at(n int) time.Time {
	return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Hour)
}

// newProxy starts an HTTP server in front of the fake at target (its base URL):
// intercept sees every request first and returns true when it answered it
// itself; the others are forwarded to the fake. The proxy's URL is a base URL
// like the fake's. The fake cannot fail a given workflow's job list or answer
// 404 to a page token, so the tests that need it answer in intercept.
func newProxy(t *testing.T, target string, intercept func(w http.ResponseWriter, r *http.Request) bool) *httptest.Server {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if intercept != nil && intercept(w, r) {
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// answer writes a JSON answer with status.
func answer(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// slowStore delays the first of its read queries by delay, then notes how many
// heartbeats (counted by the test's listener in beats) were sent meanwhile.
type slowStore struct {
	store.Store
	delay time.Duration
	beats *atomic.Int64
	once  sync.Once
	// seen is the number of heartbeats at the end of the first query, -1 before.
	seen atomic.Int64
}

func newSlowStore(st store.Store, delay time.Duration, beats *atomic.Int64) *slowStore {
	s := &slowStore{Store: st, delay: delay, beats: beats}
	s.seen.Store(-1)
	return s
}

func (s *slowStore) wait() {
	s.once.Do(func() {
		time.Sleep(s.delay)
		s.seen.Store(s.beats.Load())
	})
}

func (s *slowStore) ConnectionState(ctx context.Context, id string) (store.ConnectionState, error) {
	s.wait()
	return s.Store.ConnectionState(ctx, id)
}

func (s *slowStore) OpenItems(ctx context.Context, slug string) (store.OpenItems, error) {
	s.wait()
	return s.Store.OpenItems(ctx, slug)
}

func (s *slowStore) Skipped(ctx context.Context) ([]store.Skipped, error) {
	s.wait()
	return s.Store.Skipped(ctx)
}

func (s *slowStore) UserRefs(ctx context.Context, slugs []string) ([]string, error) {
	s.wait()
	return s.Store.UserRefs(ctx, slugs)
}

// fastKeepAlive makes the heartbeaters' keep-alive ticker tick every d for the
// rest of the test.
func fastKeepAlive(t *testing.T, d time.Duration) {
	old := keepAliveInterval
	keepAliveInterval = d
	t.Cleanup(func() { keepAliveInterval = old })
}

// countBeats counts the activity's heartbeats into n.
func countBeats(n *atomic.Int64) func(env *testsuite.TestActivityEnvironment) {
	return func(env *testsuite.TestActivityEnvironment) {
		env.SetOnActivityHeartbeatListener(func(*activity.Info, converter.EncodedValues) { n.Add(1) })
	}
}
