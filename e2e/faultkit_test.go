package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/circleci-sync/circleci-sync/syncworker"
	"github.com/circleci-sync/circleci-sync/workflows"
)

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
