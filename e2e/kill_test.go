package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
)

// TestWorkerKilled runs the worker command as a process, on each backend, and
// kills it (SIGKILL) while a page of pipelines is half written. A second worker
// process takes over once Temporal times the lost activity out; the sync then
// completes and the tables equal the fake's Expected exactly: nothing missing,
// nothing twice, nothing stale.
func TestWorkerKilled(t *testing.T) {
	tsrv := startTemporal(t)
	bin := buildWorker(t)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			sc := newFaultScenario(t, tsrv, b, faultSpec{name: "kill", seed: 3, dataset: func(opts *circlecitest.Options) {
				// Slow enough that a page takes a while and the kill lands inside one.
				opts.Faults.Latency = 25 * time.Millisecond
			}})
			first := sc.startWorkerProcess(bin)
			start := time.Now()
			done := sc.s.runAllAsync(sc.ins)

			counts, midPage := waitMidPage(t, sc.dbURL, sc.ex, func() bool { return len(done) > 0 }, first)
			first.kill(t)
			killedAt := time.Now()
			t.Logf("killed worker 1 (SIGKILL) after %s: pipelines stored per project %v (mid-page: %v), %d API requests so far",
				killedAt.Sub(start).Round(time.Millisecond), counts, midPage, sc.fake.Stats().Total)

			second := sc.startWorkerProcess(bin)
			var out syncOutcome
			select {
			case out = <-done:
			case <-time.After(syncTimeout + 10*time.Second):
				t.Fatalf("the sync did not finish after the restart")
			}
			t.Logf("the sync finished %s after the kill, %s in all",
				time.Since(killedAt).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
			results := checkResults(t, sc.ins, out.results, out.errs)
			logResults(t, "after kill", sc.ins, results)

			rep := requireTablesEqual(t, sc.dbURL, sc.ex)
			for _, d := range rep.Tables {
				assert.Equal(t, d.Expected, d.Stored, "%s: row count", d.Table)
			}

			for _, line := range retriedPages(second.output.String()) {
				t.Logf("retried after the kill: %s", line)
			}

			st := walkHistories(t, tsrv.Client(), sc.s.allRuns(), sc.fake.URL, sc.token)
			t.Logf("histories: %d workflows, %d events, highest activity attempt %d", len(st.Runs), st.Events, st.MaxAttempt)
			assert.Greater(t, st.MaxAttempt, int32(1), "an activity lost with the killed worker was retried")
			requireNoSecretInLogs(t, map[string]string{
				"killed worker": first.output.String(), "second worker": second.output.String()}, sc.prefix, sc.token)
			requireNoSecretInState(t, sc.dbURL, sc.token)
		})
	}
}

// waitMidPage polls the pipelines stored until a project's count is partway
// through its second page or a later one (above the page size, not a multiple
// of it, below its total): a SyncPipelinePage activity that is not the first is
// then running with part of its page written. If
// the writes never show a partial page, it settles for any point with at least
// two thirds of the pipelines stored. It fails t if the sync (finished) or the
// worker ends first.
func waitMidPage(t *testing.T, dbURL string, ex circlecitest.Expected, finished func() bool,
	w *workerProc) (map[string]int, bool) {
	t.Helper()
	want := map[string]int{}
	total := 0
	for _, p := range ex.Pipelines {
		want[p.ProjectSlug]++
		total++
	}
	if path, ok := strings.CutPrefix(dbURL, "sqlite://"); ok {
		// Opening a SQLite file that is not there would create it.
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
			if _, err := os.Stat(path); err == nil {
				break
			}
			if time.Now().After(deadline) || w.exited() {
				t.Fatalf("the worker did not create %s", path)
			}
		}
	}
	db, err := openDB(dbURL)
	require.NoError(t, err)
	defer func(db *sql.DB) { _ = db.Close() }(db)
	ctx := context.Background()
	var lastErr error
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(3 * time.Millisecond) {
		if finished() {
			t.Fatalf("the sync finished before the worker could be killed mid-page")
		}
		if w.exited() {
			t.Fatalf("the worker exited on its own:\n%s", tail(w.output.String(), 20))
		}
		counts, err := pipelineCounts(ctx, db)
		if err != nil {
			lastErr = err // the schema is not there yet
			continue
		}
		stored := 0
		for slug, n := range counts {
			stored += n
			if n > circlecitest.PageSize && n < want[slug] && n%circlecitest.PageSize != 0 {
				return counts, true
			}
		}
		if stored*3 >= total*2 && stored < total {
			return counts, false
		}
	}
	t.Fatalf("no pipeline was stored within 2 minutes (last error: %v)", lastErr)
	return nil, false
}

// retriedPages returns, from a worker's JSON log, a summary of each pipeline
// page synced by a retry (attempt above 1): where it resumed on its page (from
// the heartbeat the killed worker sent) and what it did. For the test log only:
// the log's wording is not a contract.
func retriedPages(log string) []string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			continue
		}
		if attempt, _ := m["Attempt"].(float64); attempt > 1 && m["ActivityType"] != nil {
			out = append(out, fmt.Sprintf("%v attempt %v: %v (project %v, page %v, resumed_at %v, pipelines %v)",
				m["ActivityType"], attempt, m["msg"], m["project"], m["page"], m["resumed_at"], m["pipelines"]))
		}
	}
	return out
}
