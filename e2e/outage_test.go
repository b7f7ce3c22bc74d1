package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/internal/testenv"
	"github.com/circleci-sync/circleci-sync/syncworker"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// Outages of what the worker depends on, mid-sync: the Temporal server, and
// the database.

// outage is how long each outage lasts.
const outage = 20 * time.Second

// waitResults waits with c for the latest run of each input's ConnectionSync
// chain and checks the results (checkResults).
func waitResults(t *testing.T, c client.Client, ins []workflows.ConnectionSyncInput) []workflows.ConnectionSyncResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), syncTimeout)
	defer cancel()
	results := make([]workflows.ConnectionSyncResult, len(ins))
	errs := make([]error, len(ins))
	for i, in := range ins {
		errs[i] = c.GetWorkflow(ctx, workflows.ConnectionWorkflowID(in.ConnectionID), "").Get(ctx, &results[i])
	}
	return checkResults(t, ins, results, errs)
}

// TestTemporalOutage stops the Temporal dev server for 20 s mid-sync, on each
// backend, and starts it again on the same state file and port. The worker
// process, never restarted, reconnects by itself; the syncs complete and the
// tables equal the fake's Expected.
func TestTemporalOutage(t *testing.T) {
	bin := buildWorker(t)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			devOpts := testenv.DevServerOptions{
				DBFilename: filepath.Join(t.TempDir(), "temporal.db"),
				HostPort:   testenv.FreeHostPort(t),
			}
			srv := testenv.StartTemporal(t, devOpts)
			sc := newFaultScenario(t, srv, b, faultSpec{name: "temporal-down", seed: 31, dataset: func(opts *circlecitest.Options) {
				opts.PipelinesPerProject = 60
				opts.Faults.Latency = 25 * time.Millisecond
			}})
			w := sc.startWorkerProcess(bin, syncworker.EnvPagesPerActivity+"=1")
			ctx := context.Background()
			for _, in := range sc.ins {
				_, err := sc.s.start(ctx, in)
				require.NoError(t, err)
			}
			db := openWhenCreated(t, sc.dbURL, func() bool { return !w.exited() })
			total := len(sc.ex.Pipelines)
			waitFor(t, "a third of the pipelines stored", 2*time.Minute, 10*time.Millisecond, func() (bool, error) {
				return storedPipelines(ctx, db)*3 >= total, nil
			})

			before := storedPipelines(ctx, db)
			logBefore := len(w.output.String())
			require.NoError(t, srv.Stop(), "stop the Temporal dev server")
			srv.Client().Close()
			stopped := time.Now()
			t.Logf("Temporal dev server stopped %s into the sync, %d of %d pipelines stored, %d API requests so far",
				stopped.Sub(sc.fig.Start).Round(time.Millisecond), before, total, sc.fake.Stats().Total)
			time.Sleep(outage)
			during := storedPipelines(ctx, db)
			srv2 := testenv.StartTemporal(t, devOpts)
			t.Logf("Temporal dev server back after %s on %s, same state file; %d pipelines stored meanwhile (activities in flight)",
				time.Since(stopped).Round(time.Millisecond), devOpts.HostPort, during-before)
			sc.fig.Faults = fmt.Sprintf("Temporal dev server down %s mid-sync (%d/%d pipelines stored at the stop)",
				outage, before, total)

			sc.s.c = srv2.Client()
			results := waitResults(t, srv2.Client(), sc.ins)
			logResults(t, "after the outage", sc.ins, results)
			assert.False(t, w.exited(), "the worker process is still running: it reconnected by itself")
			outageLog := w.output.String()[logBefore:]
			t.Logf("the worker logged %d lines during and after the outage, %d of them warnings or errors",
				strings.Count(outageLog, "\n"), strings.Count(outageLog, `"level":"WARN"`)+strings.Count(outageLog, `"level":"ERROR"`))

			rep := requireTablesEqual(t, sc.dbURL, sc.ex)
			st := walkHistories(t, srv2.Client(), sc.s.allRuns(), sc.fake.URL, sc.token)
			t.Logf("histories: %d workflows, %d events, highest activity attempt %d, retries by cause %v, workflow tasks timed out or failed %d",
				len(st.Runs), st.Events, st.MaxAttempt, st.Retries, st.WorkflowTaskProblems)
			requireNoSecretInLogs(t, map[string]string{"worker": w.output.String()}, sc.prefix, sc.token)
			sc.logFigures(rep, st)
		})
	}
}

// databaseOutage makes a store unreachable for a while, mid-sync.
type databaseOutage struct {
	// workerURL is the DATABASE_URL the worker gets.
	workerURL string
	// begin starts the outage; end ends it and describes what it did.
	begin func(t *testing.T)
	end   func(t *testing.T) string
}

// sqliteLockOutage holds an exclusive lock (BEGIN EXCLUSIVE) on the SQLite
// file from another connection: the worker's writes wait busy_timeout, then
// fail with SQLITE_BUSY.
func sqliteLockOutage(t *testing.T, dbURL string) databaseOutage {
	path := strings.TrimPrefix(dbURL, "sqlite://")
	var db *sql.DB
	var conn *sql.Conn
	var locked time.Time
	return databaseOutage{
		workerURL: dbURL,
		begin: func(t *testing.T) {
			var err error
			db, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(30000)")
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			conn, err = db.Conn(context.Background())
			require.NoError(t, err)
			_, err = conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE")
			require.NoError(t, err, "lock the SQLite file")
			locked = time.Now()
		},
		end: func(t *testing.T) string {
			_, err := conn.ExecContext(context.Background(), "ROLLBACK")
			require.NoError(t, err, "unlock the SQLite file")
			require.NoError(t, conn.Close())
			return fmt.Sprintf("SQLite file locked (BEGIN EXCLUSIVE from another connection) for %s",
				time.Since(locked).Round(100*time.Millisecond))
		},
	}
}

// postgresProxyOutage puts a TCP proxy between the worker and PostgreSQL and
// takes it down: new connections are refused, open ones reset.
func postgresProxyOutage(t *testing.T, dbURL string) databaseOutage {
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	proxy := testenv.StartTCPProxy(t, u.Host)
	u.Host = proxy.Addr()
	var down time.Time
	var before testenv.TCPProxyStats
	return databaseOutage{
		workerURL: u.String(),
		begin: func(t *testing.T) {
			before = proxy.Stats()
			proxy.Down()
			down = time.Now()
		},
		end: func(t *testing.T) string {
			require.NoError(t, proxy.Up())
			st := proxy.Stats()
			return fmt.Sprintf("PostgreSQL unreachable for %s through a TCP proxy: %d connections reset, new ones refused "+
				"(%d connections accepted before)", time.Since(down).Round(100*time.Millisecond), st.Reset, before.Accepted)
		},
	}
}

// TestDatabaseOutage makes the database unreachable for 20 s mid-sync, on
// each backend: PostgreSQL through a TCP proxy that refuses new connections
// and resets the open ones (the machine's PostgreSQL keeps running), SQLite
// by an exclusive lock another connection holds. The activities fail with
// store_error and are retried (from their heartbeats); the syncs complete and
// the tables equal the fake's Expected.
func TestDatabaseOutage(t *testing.T) {
	tsrv := startTemporal(t)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			sc := newFaultScenario(t, tsrv, b, faultSpec{name: "db-down", seed: 32, dataset: func(opts *circlecitest.Options) {
				opts.PipelinesPerProject = 60
				opts.Faults.Latency = 20 * time.Millisecond
			}})
			var o databaseOutage
			if b.name == "sqlite" {
				o = sqliteLockOutage(t, sc.dbURL)
			} else {
				o = postgresProxyOutage(t, sc.dbURL)
			}
			sc.workerURL = o.workerURL
			logs := sc.startWorker(func(cfg *syncworker.Config) { cfg.PagesPerActivity = 2 })
			done := sc.s.runAllAsync(sc.ins)
			db := openWhenCreated(t, sc.dbURL, func() bool { return true })
			ctx := context.Background()
			total := len(sc.ex.Pipelines)
			waitFor(t, "a third of the pipelines stored", 2*time.Minute, 10*time.Millisecond, func() (bool, error) {
				if len(done) > 0 {
					return false, fmt.Errorf("the sync finished before the outage")
				}
				return storedPipelines(ctx, db)*3 >= total, nil
			})

			o.begin(t)
			// A commit PostgreSQL received before the reset may still land.
			time.Sleep(200 * time.Millisecond)
			before := storedPipelines(ctx, db)
			t.Logf("database outage begins %s into the sync, %d of %d pipelines stored",
				time.Since(sc.fig.Start).Round(time.Millisecond), before, total)
			time.Sleep(outage)
			during := storedPipelines(ctx, db)
			sc.fig.Faults = o.end(t)
			t.Logf("%s; %d pipelines stored during it", sc.fig.Faults, during-before)
			assert.Equal(t, before, during, "nothing was written while the database was unreachable")
			assert.Less(t, during, total, "the outage landed mid-sync")

			results := awaitOutcome(t, sc.ins, done)
			logResults(t, "after the outage", sc.ins, results)
			rep := requireTablesEqual(t, sc.dbURL, sc.ex)
			st := walkHistories(t, tsrv.Client(), sc.s.allRuns(), sc.fake.URL, sc.token)
			t.Logf("histories: %d workflows, %d events, highest activity attempt %d, retries by cause %v",
				len(st.Runs), st.Events, st.MaxAttempt, st.Retries)
			assert.Positive(t, st.Retries["store_error"], "activities failed with store_error and were retried")
			requireNoSecretInLogs(t, map[string]string{"worker": logs.String()}, sc.prefix, sc.token)
			sc.logFigures(rep, st)
		})
	}
}
