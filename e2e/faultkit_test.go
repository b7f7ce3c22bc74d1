package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/internal/testenv"
	"github.com/circleci-sync/circleci-sync/syncworker"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// faultSpec is a fault test's setup: name names its task queue
// (e2e-<name>-<backend>-<hex>) and its connections (<name>-<hex>-1, ...); the
// fake serves datasetOptions(seed) changed by dataset; proxy puts a recording
// apiProxy between the syncs and the fake.
type faultSpec struct {
	name    string
	seed    int64
	dataset func(opts *circlecitest.Options)
	proxy   bool
}

// faultScenario is what every fault test starts from: a fresh database, the
// fake (behind a proxy if asked), its token in a fresh variable, a task queue
// with its syncer, one connection input per organisation, and the figures.
type faultScenario struct {
	t         *testing.T
	tsrv      *testsuite.DevServer
	dbURL     string // the database the checks read
	workerURL string // the DATABASE_URL workers get: dbURL unless a test changes it
	fake      *circlecitest.Server
	proxy     *apiProxy // nil unless faultSpec.proxy
	token     string
	tokenEnv  string
	ex        circlecitest.Expected // the fake's at the start
	taskQueue string
	prefix    string // of the connection IDs
	s         *syncer
	ins       []workflows.ConnectionSyncInput
	fig       figures
}

// newFaultScenario sets up spec on backend b and the dev server tsrv; the
// workers are the test's to start (startWorker, startWorkerProcess).
func newFaultScenario(t *testing.T, tsrv *testsuite.DevServer, b backend, spec faultSpec) *faultScenario {
	t.Helper()
	sc := &faultScenario{t: t, tsrv: tsrv, fig: figures{Start: time.Now()}}
	sc.dbURL = b.url(t)
	sc.workerURL = sc.dbURL
	opts := datasetOptions(spec.seed)
	if spec.dataset != nil {
		spec.dataset(&opts)
	}
	sc.fake = startFake(t, opts)
	if spec.proxy {
		sc.proxy = startAPIProxy(t, sc.fake.URL)
	}
	sc.token = sc.fake.Token()
	sc.ex = sc.fake.Expected(sc.token)
	sc.tokenEnv = newEnvName("TOKEN")
	sc.taskQueue = newID("e2e-" + spec.name + "-" + b.name)
	sc.s = &syncer{c: tsrv.Client(), taskQueue: sc.taskQueue}
	sc.prefix = newID(spec.name)
	sc.ins = sc.inputs(sc.prefix)
	return sc
}

// baseURL is where the syncs reach the fake: the proxy, if there is one.
func (sc *faultScenario) baseURL() string {
	if sc.proxy != nil {
		return sc.proxy.URL
	}
	return sc.fake.URL
}

// inputs returns connectionInputs with prefix, their base_url baseURL.
func (sc *faultScenario) inputs(prefix string) []workflows.ConnectionSyncInput {
	ins := connectionInputs(sc.fake, prefix, sc.tokenEnv)
	for i := range ins {
		ins[i].BaseURL = sc.baseURL()
	}
	return ins
}

// firstOrgProjects returns the project slugs of the first input's
// organisation, and fails t unless there are want of them.
func (sc *faultScenario) firstOrgProjects(want int) []string {
	sc.t.Helper()
	projects := projectsOf(sc.ex, sc.ins[0].OrgSlug)
	require.Len(sc.t, projects, want)
	return projects
}

// startWorker starts an in-process worker (startWorker) on the scenario's task
// queue and workerURL, with the token variable set.
func (sc *faultScenario) startWorker(tune ...func(cfg *syncworker.Config)) *testenv.Buffer {
	sc.t.Helper()
	setTokenEnv(sc.t, sc.tokenEnv, sc.token)
	return startWorker(sc.t, sc.tsrv, sc.taskQueue, sc.workerURL, tune...)
}

// workerEnv is the environment of the scenario's worker processes
// (faultWorkerEnv), extra last.
func (sc *faultScenario) workerEnv(extra ...string) []string {
	return faultWorkerEnv(sc.tsrv.FrontendHostPort(), sc.workerURL, sc.taskQueue, sc.tokenEnv, sc.token, extra...)
}

// startWorkerProcess starts the worker command bin with workerEnv(extra...).
func (sc *faultScenario) startWorkerProcess(bin string, extra ...string) *workerProc {
	sc.t.Helper()
	return startWorkerProcess(sc.t, bin, sc.workerEnv(extra...))
}

// logFigures fills the figures from the final comparison, the histories and
// the fake's request count, and logs them.
func (sc *faultScenario) logFigures(rep dbReport, st chainStats) {
	sc.t.Helper()
	sc.fig.fromReport(rep)
	sc.fig.fromHistories(st)
	sc.fig.Requests = sc.fake.Stats().Total
	sc.fig.log(sc.t)
}

// setTokenEnv sets the environment variable name to token for the in-process
// workers until t ends (t.Setenv refuses parallel tests; the names are
// unique, so parallel tests do not meet).
func setTokenEnv(t *testing.T, name, token string) {
	t.Helper()
	require.NoError(t, os.Setenv(name, token))
	t.Cleanup(func() { _ = os.Unsetenv(name) })
}

// syncOutcome is what runAll returns.
type syncOutcome struct {
	results []workflows.ConnectionSyncResult
	errs    []error
}

// faultWorkerEnv is the environment of a worker process on taskQueue, storing into
// dbURL, with token in tokenEnv; extra (NAME=value) come last and win.
func faultWorkerEnv(hostPort, dbURL, taskQueue, tokenEnv, token string, extra ...string) []string {
	env := []string{
		"TEMPORAL_ADDRESS=" + hostPort,
		"TEMPORAL_NAMESPACE=default",
		syncworker.EnvDatabaseURL + "=" + dbURL,
		syncworker.EnvAllowedBaseURLs + "=*",
		syncworker.EnvTaskQueue + "=" + taskQueue,
		syncworker.EnvRate + "=1000",
		syncworker.EnvBurst + "=100",
		syncworker.EnvMaxConcurrent + "=8",
		syncworker.EnvPageConcurrency + "=2",
		syncworker.EnvStopTimeout + "=5s",
		syncworker.EnvLogFormat + "=json",
		syncworker.EnvLogLevel + "=debug",
		tokenEnv + "=" + token,
	}
	return append(env, extra...)
}

// runAllAsync starts runAll in the background; its outcome comes on the
// channel.
func (s *syncer) runAllAsync(ins []workflows.ConnectionSyncInput) <-chan syncOutcome {
	done := make(chan syncOutcome, 1)
	go func() {
		results, errs := s.runAll(ins)
		done <- syncOutcome{results, errs}
	}()
	return done
}

// awaitOutcome waits for runAllAsync's outcome (at most syncTimeout and a
// bit) and checks it (checkResults).
func awaitOutcome(t *testing.T, ins []workflows.ConnectionSyncInput, done <-chan syncOutcome) []workflows.ConnectionSyncResult {
	t.Helper()
	select {
	case out := <-done:
		return checkResults(t, ins, out.results, out.errs)
	case <-time.After(syncTimeout + 10*time.Second):
		t.Fatalf("the syncs did not finish")
	}
	return nil
}

// waitFor calls cond every interval until it returns true, and fails t if
// that takes longer than timeout or cond returns an error.
func waitFor(t *testing.T, what string, timeout, interval time.Duration, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within %s", what, timeout)
		}
		time.Sleep(interval)
	}
}

// openWhenCreated opens dbURL for reading (openDB) once the worker created it:
// a SQLite file that is not there would be created by opening it. alive
// reports whether the worker is still there to create it.
func openWhenCreated(t *testing.T, dbURL string, alive func() bool) *sql.DB {
	t.Helper()
	if path, ok := strings.CutPrefix(dbURL, "sqlite://"); ok {
		waitFor(t, "the SQLite file "+path, time.Minute, 10*time.Millisecond, func() (bool, error) {
			if _, err := os.Stat(path); err == nil {
				return true, nil
			}
			if !alive() {
				return false, fmt.Errorf("the worker ended before it created %s", path)
			}
			return false, nil
		})
	}
	db, err := openDB(dbURL)
	if err != nil {
		t.Fatalf("open %s: %v", dbURL, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// storedPipelines returns the pipelines stored in all (0 while the schema is
// not there yet).
func storedPipelines(ctx context.Context, db *sql.DB) int {
	counts, err := pipelineCounts(ctx, db)
	if err != nil {
		return 0
	}
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}
