package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	_ "modernc.org/sqlite" // database/sql driver "sqlite"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/codec"
	"github.com/circleci-sync/circleci-sync/internal/testenv"
	"github.com/circleci-sync/circleci-sync/syncworker"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// syncTimeout bounds one sync (every connection of it); a sync that takes longer
// has hung.
const syncTimeout = 5 * time.Minute

// ---------------------------------------------------------------------------
// Backends, Temporal, the fake.

// backend is a store the tests run on.
type backend struct {
	name string
	// url returns the DATABASE_URL of a fresh, empty database for t.
	url func(t testing.TB) string
}

// backends are the stores every "per backend" scenario runs on. PostgreSQL
// skips without TEST_DATABASE_URL (fails under CI=true).
var backends = []backend{
	{"sqlite", testenv.SQLiteURL},
	{"postgres", testenv.PostgresURL},
}

// startTemporal starts a Temporal dev server for t (stopped when t ends).
func startTemporal(t *testing.T, extraArgs ...string) *testsuite.DevServer {
	t.Helper()
	start := time.Now()
	srv := testenv.StartTemporal(t, testenv.DevServerOptions{ExtraArgs: extraArgs})
	t.Logf("Temporal dev server at %s (started in %s)", srv.FrontendHostPort(), time.Since(start).Round(time.Millisecond))
	return srv
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newToken returns a distinctive fake CircleCI token, easy to look for in
// histories and logs.
func newToken() string { return "e2e-secret-token-" + randomHex(12) }

// newEnvName returns a fresh environment variable name, one the worker's
// default CIRCLECI_TOKEN_ENV_PATTERN accepts as a token_env.
func newEnvName(what string) string {
	return "E2E_" + what + "_" + strings.ToUpper(randomHex(4)) + "_CIRCLECI_TOKEN"
}

// newID returns a fresh connection id (or task queue) starting with prefix.
func newID(prefix string) string { return prefix + "-" + randomHex(4) }

// datasetOptions are the fake's options shared by the scenarios: 3 projects
// (one per organisation: gh/acme, bb/acme, circleci/<id>), 45 pipelines each (3
// pages of 20), and pipelines and users the API cannot give, so that the skipped
// ledger has entries. The dataset clock is the wall clock, so that the sync's
// rerun window (measured from the worker's clock) means something.
func datasetOptions(seed int64) circlecitest.Options {
	return circlecitest.Options{
		Seed:                seed,
		Projects:            3,
		PipelinesPerProject: 45,
		Now:                 time.Now().UTC().Truncate(time.Second),
		Token:               newToken(),
		Faults:              circlecitest.Faults{ExpiredPipelines: 2, BrokenPipelines: 1, MissingUsers: 1},
	}
}

// startFake starts the fake CircleCI API for t (closed when t ends) and checks
// that its dataset exercises the skipped ledger.
func startFake(t *testing.T, opts circlecitest.Options) *circlecitest.Server {
	t.Helper()
	fake := circlecitest.NewServer(opts)
	t.Cleanup(fake.Close)
	ex := fake.Expected(fake.Token())
	kinds := map[string]int{}
	for _, u := range ex.Unreachable {
		kinds[u.Kind+"/"+u.Reason]++
	}
	t.Logf("fake CircleCI at %s: %d projects, %d pipelines, %d workflows, %d jobs, %d users; unreachable %v",
		fake.URL, len(ex.Projects), len(ex.Pipelines), len(ex.Workflows), len(ex.Jobs), len(ex.Users), kinds)
	return fake
}

// orgsOf returns the distinct organisation slugs of ex's projects, in order.
func orgsOf(ex circlecitest.Expected) []string {
	var orgs []string
	for _, p := range ex.Projects {
		if !slices.Contains(orgs, p.OrganizationSlug) {
			orgs = append(orgs, p.OrganizationSlug)
		}
	}
	return orgs
}

// ---------------------------------------------------------------------------
// Logs.

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ---------------------------------------------------------------------------
// Workers.

// workerConfig is the worker configuration of the tests: fast pacing, so that
// the syncs are quick.
func workerConfig(taskQueue, databaseURL string) syncworker.Config {
	cfg := syncworker.DefaultConfig()
	cfg.TaskQueue = taskQueue
	cfg.DatabaseURL = databaseURL
	cfg.Limiter.RequestsPerSecond = 1000
	cfg.Limiter.Burst = 100
	cfg.Limiter.MaxConcurrent = 32
	cfg.StopTimeout = 5 * time.Second
	cfg.AllowedBaseURLs = []string{activities.AnyBaseURL} // the fakes listen on free ports
	return cfg
}

// startWorker runs syncworker.RunWorker in-process on taskQueue until t ends,
// with workerConfig changed by tune. It
// gets a Temporal client of its own whose SDK log, like the worker's, goes to the
// returned buffer (debug level), for the token checks.
func startWorker(t *testing.T, tsrv *testsuite.DevServer, taskQueue, databaseURL string,
	tune ...func(cfg *syncworker.Config)) *testenv.Buffer {
	t.Helper()
	logs := &testenv.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := workerConfig(taskQueue, databaseURL)
	for _, f := range tune {
		f(&cfg)
	}
	// As syncworker.Dial does: the codec and the metrics handler are the client's.
	opts := client.Options{HostPort: tsrv.FrontendHostPort(), Namespace: "default", Logger: syncworker.NewLogger(logger)}
	codec.Apply(&opts, cfg.Codec)
	if cfg.Metrics != nil {
		opts.MetricsHandler = cfg.Metrics.Temporal()
	}
	c, err := client.Dial(opts)
	if err != nil {
		t.Fatalf("worker client: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- syncworker.RunWorker(ctx, cfg, c, logger) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("RunWorker returned: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("RunWorker did not return within 30s of its context's end")
		}
		c.Close()
		if t.Failed() {
			t.Logf("worker log (tail):\n%s", tail(logs.String(), 40))
		}
	})
	// A worker that cannot start (store, task queue) returns at once.
	select {
	case err := <-done:
		t.Fatalf("RunWorker returned at once: %v\nlog:\n%s", err, logs.String())
	case <-time.After(200 * time.Millisecond):
	}
	return logs
}

// buildWorker builds the worker command into t's temporary directory.
func buildWorker(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "worker")
	cmd := exec.Command("go", "build", "-o", bin, "./worker")
	cmd.Dir = ".." // the module root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./worker: %v\n%s", err, out)
	}
	return bin
}

// workerProc is the worker command running as a process.
type workerProc struct {
	cmd    *exec.Cmd
	output *testenv.Buffer // stdout and stderr
	done   chan struct{}
}

// startWorkerProcess starts the worker command with env added to the test's
// environment. It is killed when t ends if still running.
func startWorkerProcess(t testing.TB, bin string, env []string) *workerProc {
	t.Helper()
	p := &workerProc{output: &testenv.Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = p.output
	p.cmd.Stderr = p.output
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start the worker process: %v", err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("worker process %d output (tail):\n%s", p.cmd.Process.Pid, tail(p.output.String(), 40))
		}
	})
	return p
}

// kill sends SIGKILL and waits for the process to end.
func (p *workerProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill the worker: %v", err)
	}
	<-p.done
}

// stop ends a running process gracefully (SIGTERM), then by SIGKILL.
func (p *workerProc) stop(t testing.TB) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Logf("worker process did not stop on SIGINT; killing it")
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// exited tells whether the process has ended.
func (p *workerProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ---------------------------------------------------------------------------
// Syncs.

// runRef names one workflow run started by a test: the first run of a chain.
type runRef struct{ WorkflowID, RunID string }

// syncer starts ConnectionSync workflows on one task queue and remembers every
// run, for the history checks.
type syncer struct {
	c         client.Client
	taskQueue string

	mu   sync.Mutex
	runs []runRef
}

// start starts ConnectionSync with in, under ConnectionWorkflowID(in.ConnectionID).
func (s *syncer) start(ctx context.Context, in workflows.ConnectionSyncInput) (client.WorkflowRun, error) {
	run, err := s.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:        workflows.ConnectionWorkflowID(in.ConnectionID),
		TaskQueue: s.taskQueue,
	}, workflows.ConnectionSyncName, in)
	if err != nil {
		return nil, fmt.Errorf("start ConnectionSync %s: %w", in.ConnectionID, err)
	}
	s.mu.Lock()
	s.runs = append(s.runs, runRef{run.GetID(), run.GetRunID()})
	s.mu.Unlock()
	return run, nil
}

// run starts ConnectionSync with in and waits for its result (at most
// syncTimeout).
func (s *syncer) run(ctx context.Context, in workflows.ConnectionSyncInput) (workflows.ConnectionSyncResult, error) {
	var res workflows.ConnectionSyncResult
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	run, err := s.start(ctx, in)
	if err != nil {
		return res, err
	}
	err = run.Get(ctx, &res)
	if ctx.Err() != nil {
		// Don't leave it running against a fake that is about to close.
		_ = s.c.TerminateWorkflow(context.Background(), run.GetID(), run.GetRunID(), "e2e: timed out")
		return res, fmt.Errorf("ConnectionSync %s did not finish within %s: %w", in.ConnectionID, syncTimeout, err)
	}
	return res, err
}

// allRuns returns the runs started so far.
func (s *syncer) allRuns() []runRef {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.runs)
}

// connectionInputs returns one ConnectionSync input per organisation of the fake:
// connection ids prefix-1, prefix-2, ...
func connectionInputs(fake *circlecitest.Server, prefix, tokenEnv string) []workflows.ConnectionSyncInput {
	var ins []workflows.ConnectionSyncInput
	for i, org := range orgsOf(fake.Expected(fake.Token())) {
		ins = append(ins, workflows.ConnectionSyncInput{
			ConnectionID:          fmt.Sprintf("%s-%d", prefix, i+1),
			OrgSlug:               org,
			BaseURL:               fake.URL,
			TokenEnv:              tokenEnv,
			MaxConcurrentProjects: 4,
		})
	}
	return ins
}

// runAll runs the inputs' syncs at once and returns their results and errors in
// order.
func (s *syncer) runAll(ins []workflows.ConnectionSyncInput) ([]workflows.ConnectionSyncResult, []error) {
	results := make([]workflows.ConnectionSyncResult, len(ins))
	errs := make([]error, len(ins))
	var wg sync.WaitGroup
	for i, in := range ins {
		wg.Go(func() { results[i], errs[i] = s.run(context.Background(), in) })
	}
	wg.Wait()
	return results, errs
}

// syncAll runs the inputs' syncs at once and returns their results in order;
// it fails t if any sync fails or reports a failed project.
func (s *syncer) syncAll(t *testing.T, ins []workflows.ConnectionSyncInput) []workflows.ConnectionSyncResult {
	t.Helper()
	results, errs := s.runAll(ins)
	return checkResults(t, ins, results, errs)
}

// checkResults fails t if any sync failed or reported a failed project.
func checkResults(t *testing.T, ins []workflows.ConnectionSyncInput, results []workflows.ConnectionSyncResult,
	errs []error) []workflows.ConnectionSyncResult {
	t.Helper()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("sync of connection %s (%s): %v", ins[i].ConnectionID, ins[i].OrgSlug, err)
		}
	}
	for i, res := range results {
		if res.FailedProjects != 0 {
			t.Errorf("connection %s: %d failed projects: %+v", ins[i].ConnectionID, res.FailedProjects, res.Projects)
		}
		for _, p := range res.Projects {
			if p.Status != workflows.ProjectCompleted {
				t.Errorf("connection %s, project %s: status %q, error %s: %s", ins[i].ConnectionID, p.ProjectSlug,
					p.Status, p.ErrorType, p.Error)
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return results
}

// logResults logs each connection's figures.
func logResults(t *testing.T, label string, ins []workflows.ConnectionSyncInput, results []workflows.ConnectionSyncResult) {
	t.Helper()
	for i, r := range results {
		t.Logf("%s %s (%s): %d projects, runs %d, totals %+v, users %+v", label, ins[i].ConnectionID, ins[i].OrgSlug,
			len(r.Projects), r.Runs, r.Totals, r.Users)
	}
}

// totalRequests adds up the requests the results report.
func totalRequests(results []workflows.ConnectionSyncResult) int64 {
	var n int64
	for _, r := range results {
		n += r.Totals.Requests
	}
	return n
}

// applicationError returns the ApplicationError in err's chain, or fails t.
func applicationError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	if err == nil {
		t.Fatalf("the sync succeeded; want it to fail")
	}
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		t.Fatalf("the sync failed with %T %v; want an ApplicationError in its chain", err, err)
	}
	return appErr
}

// ---------------------------------------------------------------------------
// Comparing the tables with the fake's Expected.

// tableDiff is the comparison of one table with what it should hold.
type tableDiff struct {
	Table      string
	Expected   int // rows expected
	Stored     int // rows stored
	Missing    int // expected, not stored
	Extra      int // stored, not expected
	Mismatched int // stored and expected, but different
	Examples   []string
}

func (d tableDiff) clean() bool { return d.Missing == 0 && d.Extra == 0 && d.Mismatched == 0 }

func (d tableDiff) String() string {
	return fmt.Sprintf("%-20s expected %5d stored %5d compared %5d missing %d extra %d mismatched %d",
		d.Table, d.Expected, d.Stored, d.Expected-d.Missing, d.Missing, d.Extra, d.Mismatched)
}

// dbReport compares every data table and the skipped ledger with an Expected.
type dbReport struct{ Tables []tableDiff }

func (r dbReport) clean() bool {
	for _, d := range r.Tables {
		if !d.clean() {
			return false
		}
	}
	return true
}

// compared is the number of expected rows found and compared.
func (r dbReport) compared() int {
	n := 0
	for _, d := range r.Tables {
		n += d.Expected - d.Missing
	}
	return n
}

func (r dbReport) String() string {
	var b strings.Builder
	for _, d := range r.Tables {
		b.WriteString(d.String())
		b.WriteByte('\n')
		for _, e := range d.Examples {
			b.WriteString("    " + e + "\n")
		}
	}
	return b.String()
}

// row is one entity: key columns (name → value) and its raw JSON, decoded and
// normalised (normJSON).
type row struct {
	cols map[string]string
	raw  any
}

// openDB opens databaseURL for reading with database/sql: SQLite through
// modernc.org/sqlite (read-only, waiting on locks), PostgreSQL through pgx
// (the URL's search_path selects the test's schema).
func openDB(databaseURL string) (*sql.DB, error) {
	if path, ok := strings.CutPrefix(databaseURL, "sqlite://"); ok {
		return sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	}
	return sql.Open("pgx", databaseURL)
}

// compareDB reads the tables of databaseURL and compares them with ex.
func compareDB(ctx context.Context, databaseURL string, ex circlecitest.Expected) (dbReport, error) {
	db, err := openDB(databaseURL)
	if err != nil {
		return dbReport{}, err
	}
	defer db.Close()
	want, err := expectedRows(ex)
	if err != nil {
		return dbReport{}, err
	}
	var rep dbReport
	for _, q := range tableQueries {
		got, err := storedRows(ctx, db, q)
		if err != nil {
			return dbReport{}, err
		}
		rep.Tables = append(rep.Tables, diffRows(q.table, want[q.table], got))
	}
	return rep, nil
}

// tableQuery reads one table: the first column is the key, raw (if any) the last.
type tableQuery struct {
	table  string
	cols   []string // after the key
	hasRaw bool
	sql    string
}

// tableQueries read the data tables and the skipped ledger. raw is read as text
// (JSONB on PostgreSQL).
var tableQueries = []tableQuery{
	{"circleci_projects", nil, true, `SELECT slug, CAST(raw AS TEXT) FROM circleci_projects`},
	{"circleci_pipelines", []string{"project_slug", "state"}, true,
		`SELECT id, project_slug, state, CAST(raw AS TEXT) FROM circleci_pipelines`},
	{"circleci_workflows", []string{"pipeline_id", "project_slug", "status"}, true,
		`SELECT id, pipeline_id, project_slug, status, CAST(raw AS TEXT) FROM circleci_workflows`},
	{"circleci_jobs", []string{"workflow_id", "project_slug", "status"}, true,
		`SELECT id, workflow_id, project_slug, status, CAST(raw AS TEXT) FROM circleci_jobs`},
	{"circleci_users", []string{"login"}, true, `SELECT id, login, CAST(raw AS TEXT) FROM circleci_users`},
	{"circleci_skipped", []string{"project_slug", "reason", "http_status"}, false,
		`SELECT kind || '/' || id, project_slug, reason, COALESCE(CAST(http_status AS TEXT), '') FROM circleci_skipped`},
}

// storedRows reads one table.
func storedRows(ctx context.Context, db *sql.DB, q tableQuery) (map[string]row, error) {
	rows, err := db.QueryContext(ctx, q.sql)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", q.table, err)
	}
	defer rows.Close()
	out := map[string]row{}
	n := 1 + len(q.cols)
	if q.hasRaw {
		n++
	}
	for rows.Next() {
		vals := make([]sql.NullString, n)
		ptrs := make([]any, n)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("read %s: %w", q.table, err)
		}
		r := row{cols: map[string]string{}}
		for i, c := range q.cols {
			r.cols[c] = vals[1+i].String
		}
		if q.hasRaw {
			if raw := vals[n-1]; raw.Valid {
				var v any
				if err := json.Unmarshal([]byte(raw.String), &v); err != nil {
					r.raw = "invalid JSON: " + raw.String
				} else {
					r.raw = normJSON(v)
				}
			}
		}
		key := vals[0].String
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("%s: key %s stored twice", q.table, key)
		}
		out[key] = r
	}
	return out, rows.Err()
}

// expectedRows turns ex into rows by table.
func expectedRows(ex circlecitest.Expected) (map[string]map[string]row, error) {
	out := map[string]map[string]row{}
	add := func(table, key string, cols map[string]string, item any, dropKeys ...string) error {
		raw, err := wireJSON(item, dropKeys...)
		if err != nil {
			return err
		}
		if out[table] == nil {
			out[table] = map[string]row{}
		}
		out[table][key] = row{cols: cols, raw: raw}
		return nil
	}
	for _, p := range ex.Projects {
		// vcs_type is the fake's v1.1 field, not part of the v2 project.
		if err := add("circleci_projects", p.Slug, map[string]string{}, p, "vcs_type"); err != nil {
			return nil, err
		}
	}
	for _, p := range ex.Pipelines {
		if err := add("circleci_pipelines", p.ID, map[string]string{"project_slug": p.ProjectSlug, "state": p.State}, p); err != nil {
			return nil, err
		}
	}
	for _, w := range ex.Workflows {
		if err := add("circleci_workflows", w.ID, map[string]string{"pipeline_id": w.PipelineID,
			"project_slug": w.ProjectSlug, "status": w.Status}, w); err != nil {
			return nil, err
		}
	}
	for _, j := range ex.Jobs {
		// CircleCI does not send a job's workflow_id and pipeline_id.
		if err := add("circleci_jobs", j.ID, map[string]string{"workflow_id": j.WorkflowID,
			"project_slug": j.ProjectSlug, "status": j.Status}, j, "workflow_id", "pipeline_id"); err != nil {
			return nil, err
		}
	}
	for _, u := range ex.Users {
		if err := add("circleci_users", u.ID, map[string]string{"login": u.Login}, u); err != nil {
			return nil, err
		}
	}
	out["circleci_skipped"] = map[string]row{}
	for _, u := range ex.Unreachable {
		out["circleci_skipped"][u.Kind+"/"+u.ID] = row{cols: map[string]string{"project_slug": u.ProjectSlug,
			"reason": u.Reason, "http_status": fmt.Sprint(u.HTTPStatus)}}
	}
	return out, nil
}

// wireJSON is item (a dataset value of the fake) as the API sends it, decoded
// and normalised: the fake's dataset types marshal like its wire types except
// for the keys in drop (fields CircleCI does not send), the time layout (the wire
// has milliseconds; normJSON puts both in one layout) and a pipeline's empty
// error list (always [] on the wire).
func wireJSON(item any, drop ...string) (any, error) {
	b, err := json.Marshal(item)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for _, k := range drop {
		delete(m, k)
	}
	if _, isPipeline := item.(circlecitest.Pipeline); isPipeline && m["errors"] == nil {
		m["errors"] = []any{}
	}
	return normJSON(m), nil
}

// normJSON normalises decoded JSON for comparison: every string that is an RFC
// 3339 time is rewritten in UTC with milliseconds, CircleCI's layout.
func normJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normJSON(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normJSON(e)
		}
		return x
	case string:
		if len(x) >= 20 && len(x) <= 40 && x[4] == '-' && strings.ContainsRune(x, 'T') {
			if tm, err := time.Parse(time.RFC3339Nano, x); err == nil {
				return tm.UTC().Format("2006-01-02T15:04:05.000Z07:00")
			}
		}
		return x
	}
	return v
}

// diffRows compares a table's stored rows with the expected ones.
func diffRows(table string, want, got map[string]row) tableDiff {
	d := tableDiff{Table: table, Expected: len(want), Stored: len(got)}
	example := func(format string, args ...any) {
		if len(d.Examples) < 5 {
			d.Examples = append(d.Examples, fmt.Sprintf(format, args...))
		}
	}
	for _, k := range sortedKeys(want) {
		w := want[k]
		g, ok := got[k]
		if !ok {
			d.Missing++
			example("missing %s", k)
			continue
		}
		var diffs []string
		for _, c := range sortedKeys(w.cols) {
			if w.cols[c] != g.cols[c] {
				diffs = append(diffs, fmt.Sprintf("%s: stored %q, want %q", c, g.cols[c], w.cols[c]))
			}
		}
		if w.raw != nil && !reflect.DeepEqual(w.raw, g.raw) {
			diffs = append(diffs, "raw: "+jsonDiff(w.raw, g.raw))
		}
		if len(diffs) > 0 {
			d.Mismatched++
			example("mismatched %s: %s", k, strings.Join(diffs, "; "))
		}
	}
	for _, k := range sortedKeys(got) {
		if _, ok := want[k]; !ok {
			d.Extra++
			example("extra %s", k)
		}
	}
	return d
}

// jsonDiff describes how two decoded JSON values differ, briefly.
func jsonDiff(want, got any) string {
	wm, ok1 := want.(map[string]any)
	gm, ok2 := got.(map[string]any)
	if !ok1 || !ok2 {
		return fmt.Sprintf("stored %.200v, want %.200v", got, want)
	}
	var parts []string
	keys := map[string]bool{}
	for k := range wm {
		keys[k] = true
	}
	for k := range gm {
		keys[k] = true
	}
	for _, k := range sortedKeys(keys) {
		wv, inW := wm[k]
		gv, inG := gm[k]
		switch {
		case !inG:
			parts = append(parts, fmt.Sprintf("%s missing", k))
		case !inW:
			parts = append(parts, fmt.Sprintf("%s extra (%.80v)", k, gv))
		case !reflect.DeepEqual(wv, gv):
			parts = append(parts, fmt.Sprintf("%s: stored %.120v, want %.120v", k, gv, wv))
		}
	}
	return strings.Join(parts, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// requireTablesEqual compares the tables of databaseURL with ex, logs the
// figures and fails t on any difference.
func requireTablesEqual(t *testing.T, databaseURL string, ex circlecitest.Expected) dbReport {
	t.Helper()
	rep, err := compareDB(context.Background(), databaseURL, ex)
	if err != nil {
		t.Fatalf("compare the tables: %v", err)
	}
	missing, extra, mismatched := 0, 0, 0
	for _, d := range rep.Tables {
		missing += d.Missing
		extra += d.Extra
		mismatched += d.Mismatched
	}
	t.Logf("tables vs Expected: %d rows compared, %d missing, %d extra, %d mismatched\n%s",
		rep.compared(), missing, extra, mismatched, rep)
	if !rep.clean() {
		t.Fatalf("the tables differ from the fake's Expected (see above)")
	}
	return rep
}

// filterExpected keeps of ex what a sync of the given projects stores: those
// projects, their pipelines, workflows and jobs, the users those reference, and
// the unreachable entities among them.
func filterExpected(ex circlecitest.Expected, projects ...string) circlecitest.Expected {
	in := func(slug string) bool { return slices.Contains(projects, slug) }
	out := ex
	out.Projects, out.Pipelines, out.Workflows, out.Jobs, out.Users, out.Unreachable = nil, nil, nil, nil, nil, nil
	refs := map[string]bool{}
	ref := func(ids ...string) {
		for _, id := range ids {
			if id != "" {
				refs[id] = true
			}
		}
	}
	for _, p := range ex.Projects {
		if in(p.Slug) {
			out.Projects = append(out.Projects, p)
		}
	}
	for _, p := range ex.Pipelines {
		if in(p.ProjectSlug) {
			out.Pipelines = append(out.Pipelines, p)
		}
	}
	for _, w := range ex.Workflows {
		if in(w.ProjectSlug) {
			out.Workflows = append(out.Workflows, w)
			ref(w.StartedBy, w.CanceledBy, w.ErroredBy)
		}
	}
	for _, j := range ex.Jobs {
		if in(j.ProjectSlug) {
			out.Jobs = append(out.Jobs, j)
			ref(j.ApprovedBy, j.CanceledBy)
		}
	}
	for _, u := range ex.Users {
		if refs[u.ID] {
			out.Users = append(out.Users, u)
		}
	}
	for _, u := range ex.Unreachable {
		if (u.Kind == circlecitest.UnreachableUser && refs[u.ID]) ||
			(u.Kind != circlecitest.UnreachableUser && in(u.ProjectSlug)) {
			out.Unreachable = append(out.Unreachable, u)
		}
	}
	return out
}

// pipelineCounts returns the stored pipelines per project (an error while the
// database is not there yet).
func pipelineCounts(ctx context.Context, db *sql.DB) (map[string]int, error) {
	rows, err := db.QueryContext(ctx, `SELECT project_slug, COUNT(*) FROM circleci_pipelines GROUP BY project_slug`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var slug string
		var n int
		if err := rows.Scan(&slug, &n); err != nil {
			return nil, err
		}
		out[slug] = n
	}
	return out, rows.Err()
}

// ---------------------------------------------------------------------------
// Secrets: histories, logs, state tables.

// chainStats sums up the workflow histories walked.
type chainStats struct {
	// Runs is the number of runs of each workflow ID (continue-as-new makes more).
	Runs map[string]int
	// Events is the number of events read.
	Events int
	// MaxAttempt is the highest activity attempt started.
	MaxAttempt int32
	// Retries counts the activities that ended after more than one attempt, by
	// the failure of the attempt before the last (failureReason: an
	// ApplicationError's type, such as store_error or rate_limited, or
	// timeout_<kind>). A history records only an activity's last attempt.
	Retries map[string]int
	// WorkflowTaskProblems counts the workflow tasks that timed out or failed
	// (a worker lost while it held one, say).
	WorkflowTaskProblems int
}

// walkHistories reads the history of every run of each workflow in roots (a
// first run; continue-as-new runs are followed) and of every child they started,
// and fails t if any event holds one of the secrets (see scanHistories). As a
// positive control it also checks that the scan finds the fake's URL, which
// every ConnectionSync input holds (base_url) in a payload.
func walkHistories(t *testing.T, c client.Client, roots []runRef, fakeURL string, secrets ...string) chainStats {
	t.Helper()
	st, hits, err := scanHistories(c, roots, append([]string{fakeURL}, secrets...))
	if err != nil {
		t.Fatalf("read the histories: %v", err)
	}
	if len(hits[fakeURL]) == 0 {
		t.Errorf("positive control: the history scan did not find the base_url %s in any input", fakeURL)
	}
	for _, s := range secrets {
		for _, where := range hits[s] {
			t.Errorf("a secret appears in a history: %s", where)
		}
	}
	return st
}

// scanHistories reads the histories of roots' chains and children (see
// walkHistories) and returns, for each needle, the events holding it in their
// JSON form (protojson) or their binary form (where payload bytes, such as
// inputs, results, heartbeat details and failures, appear verbatim; protojson
// writes them in base64).
func scanHistories(c client.Client, roots []runRef, needles []string) (chainStats, map[string][]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := chainStats{Runs: map[string]int{}, Retries: map[string]int{}}
	hits := map[string][]string{}
	seen := map[runRef]bool{}
	queue := slices.Clone(roots)
	for len(queue) > 0 {
		ref := queue[0]
		queue = queue[1:]
		if seen[ref] {
			continue
		}
		seen[ref] = true
		st.Runs[ref.WorkflowID]++
		it := c.GetWorkflowHistory(ctx, ref.WorkflowID, ref.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		var last *historypb.HistoryEvent
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return st, nil, fmt.Errorf("history of %s run %s: %w", ref.WorkflowID, ref.RunID, err)
			}
			st.Events++
			last = ev
			js, err := protojson.Marshal(ev)
			if err != nil {
				return st, nil, err
			}
			bin, err := proto.Marshal(ev)
			if err != nil {
				return st, nil, err
			}
			for _, n := range needles {
				if strings.Contains(string(js), n) || bytes.Contains(bin, []byte(n)) {
					hits[n] = append(hits[n], fmt.Sprintf("%s run %s event %d (%s)", ref.WorkflowID, ref.RunID,
						ev.GetEventId(), ev.GetEventType()))
				}
			}
			if a := ev.GetChildWorkflowExecutionStartedEventAttributes(); a != nil {
				queue = append(queue, runRef{a.GetWorkflowExecution().GetWorkflowId(), a.GetWorkflowExecution().GetRunId()})
			}
			if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
				st.MaxAttempt = max(st.MaxAttempt, a.GetAttempt())
				if a.GetAttempt() > 1 {
					st.Retries[failureReason(a.GetLastFailure())]++
				}
			}
			if ev.GetWorkflowTaskTimedOutEventAttributes() != nil || ev.GetWorkflowTaskFailedEventAttributes() != nil {
				st.WorkflowTaskProblems++
			}
		}
		if a := last.GetWorkflowExecutionContinuedAsNewEventAttributes(); a != nil {
			queue = append(queue, runRef{ref.WorkflowID, a.GetNewExecutionRunId()})
		}
	}
	return st, hits, nil
}

// requireNoSecretInLogs fails t if any log holds one of the secrets. As a
// positive control every log must name the connection (marker, e.g. a
// connection id prefix), so an empty or unrelated log does not pass unseen.
func requireNoSecretInLogs(t *testing.T, logs map[string]string, marker string, secrets ...string) {
	t.Helper()
	for name, l := range logs {
		if !strings.Contains(l, marker) {
			t.Errorf("positive control: the %s log never mentions %q", name, marker)
		}
		for _, s := range secrets {
			if strings.Contains(l, s) {
				t.Errorf("a secret appears in the %s log", name)
			}
		}
		t.Logf("%s log: %d bytes, %d lines, no secret", name, len(l), strings.Count(l, "\n"))
	}
}

// requireNoSecretInState fails t if the sync state tables or the skipped
// ledger hold one of the secrets.
func requireNoSecretInState(t *testing.T, databaseURL string, secrets ...string) {
	t.Helper()
	db, err := openDB(databaseURL)
	if err != nil {
		t.Fatalf("open the database: %v", err)
	}
	defer db.Close()
	for _, q := range []string{
		`SELECT connection_id || ' ' || org_slug || ' ' || base_url || ' ' || COALESCE(CAST(projects AS TEXT), '') || ' ' || COALESCE(CAST(last_run AS TEXT), '') FROM circleci_sync_connections`,
		`SELECT connection_id || ' ' || project_slug || ' ' || COALESCE(CAST(last_run AS TEXT), '') FROM circleci_sync_projects`,
		`SELECT kind || ' ' || id || ' ' || reason || ' ' || message FROM circleci_skipped`,
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			for _, secret := range secrets {
				if strings.Contains(s, secret) {
					t.Errorf("a secret appears in the database: %s", q)
				}
			}
		}
		_ = rows.Close()
	}
}

// requireComparisonDetectsChanges changes tables that equal ex and checks that
// compareDB reports each change: a pipeline's raw created_at moved by one
// millisecond, a job's status column, a deleted workflow and an extra skipped
// entry. It shows that the comparison the other tests rely on can fail.
func requireComparisonDetectsChanges(t *testing.T, databaseURL string, ex circlecitest.Expected) {
	t.Helper()
	ctx := context.Background()
	var db *sql.DB
	var err error
	if path, ok := strings.CutPrefix(databaseURL, "sqlite://"); ok {
		db, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	} else {
		db, err = sql.Open("pgx", databaseURL)
	}
	if err != nil {
		t.Fatalf("open the database: %v", err)
	}
	defer db.Close()
	p, w, j := ex.Pipelines[0], ex.Workflows[0], ex.Jobs[0]
	var raw string
	if err := db.QueryRowContext(ctx, `SELECT CAST(raw AS TEXT) FROM circleci_pipelines WHERE id = $1`, p.ID).Scan(&raw); err != nil {
		t.Fatalf("read a pipeline: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("pipeline raw: %v", err)
	}
	m["created_at"] = p.CreatedAt.Add(time.Millisecond).UTC().Format("2006-01-02T15:04:05.000Z")
	changed, _ := json.Marshal(m)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE circleci_pipelines SET raw = $1 WHERE id = $2`, []any{string(changed), p.ID}},
		{`UPDATE circleci_jobs SET status = 'e2e-changed' WHERE id = $1`, []any{j.ID}},
		{`DELETE FROM circleci_workflows WHERE id = $1`, []any{w.ID}},
		{`INSERT INTO circleci_skipped (kind, id, project_slug, reason, http_status, message, first_seen, last_seen)
		  VALUES ('user', 'e2e-extra', '', 'not_found', 404, '', $1, $1)`, []any{"2026-01-01T00:00:00.000000Z"}},
	} {
		if _, err := db.ExecContext(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	rep, err := compareDB(ctx, databaseURL, ex)
	if err != nil {
		t.Fatalf("compare: %v", err)
	}
	t.Logf("after the changes:\n%s", rep)
	want := map[string][3]int{ // missing, extra, mismatched
		"circleci_pipelines": {0, 0, 1},
		"circleci_jobs":      {0, 0, 1},
		"circleci_workflows": {1, 0, 0},
		"circleci_skipped":   {0, 1, 0},
	}
	for _, d := range rep.Tables {
		if got := [3]int{d.Missing, d.Extra, d.Mismatched}; got != want[d.Table] {
			t.Errorf("%s: missing, extra, mismatched = %v, want %v", d.Table, got, want[d.Table])
		}
	}
}

// recordHistories writes the history of every run of root's chain and of its
// children's chains to dir, one JSON file per run (the format of `temporal
// workflow show --output json`), for workflows/replay_test.go. Files are named
// <WorkflowType>-<n>.json in reading order; dir is emptied of *.json first.
func recordHistories(t *testing.T, c client.Client, root runRef, dir string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	old, err := filepath.Glob(filepath.Join(dir, "*.json"))
	require.NoError(t, err)
	for _, f := range old {
		require.NoError(t, os.Remove(f))
	}
	queue := []runRef{root}
	n := 0
	for len(queue) > 0 {
		ref := queue[0]
		queue = queue[1:]
		var events []*historypb.HistoryEvent
		it := c.GetWorkflowHistory(ctx, ref.WorkflowID, ref.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			require.NoError(t, err)
			events = append(events, ev)
			if a := ev.GetChildWorkflowExecutionStartedEventAttributes(); a != nil {
				queue = append(queue, runRef{a.GetWorkflowExecution().GetWorkflowId(), a.GetWorkflowExecution().GetRunId()})
			}
		}
		require.NotEmpty(t, events)
		if a := events[len(events)-1].GetWorkflowExecutionContinuedAsNewEventAttributes(); a != nil {
			queue = append(queue, runRef{ref.WorkflowID, a.GetNewExecutionRunId()})
		}
		typ := events[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName()
		b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&historypb.History{Events: events})
		require.NoError(t, err)
		n++
		name := filepath.Join(dir, fmt.Sprintf("%s-%02d.json", typ, n))
		require.NoError(t, os.WriteFile(name, append(b, '\n'), 0o644))
	}
	t.Logf("recorded %d workflow histories in %s", n, dir)
}
