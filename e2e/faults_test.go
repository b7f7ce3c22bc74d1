package e2e

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/syncworker"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// The worker process killed (SIGKILL) at other points than mid-page
// (TestWorkerKilled in kill_test.go): between two page activities, and right
// after a ProjectSync continued as new; and one of two workers killed while
// the other one goes on.

// connectionIDs returns the ConnectionSync workflow IDs of ins.
func connectionIDs(ins []workflows.ConnectionSyncInput) []string {
	ids := make([]string, len(ins))
	for i, in := range ins {
		ids[i] = workflows.ConnectionWorkflowID(in.ConnectionID)
	}
	return ids
}

// killedWorkerCheck is what the kill tests check after the sync: the results,
// the tables against Expected, the activities the dead worker held (each
// completed by a retry), and the histories (no token, attempts). It logs the
// figures.
func (sc *faultScenario) killedWorkerCheck(done <-chan syncOutcome, held []heldActivity) chainStats {
	t := sc.t
	t.Helper()
	results := awaitOutcome(t, sc.ins, done)
	logResults(t, "after the kill", sc.ins, results)
	rep := requireTablesEqual(t, sc.dbURL, sc.fake.Expected(sc.token))
	for _, d := range rep.Tables {
		assert.Equal(t, d.Expected, d.Stored, "%s: row count", d.Table)
	}
	requireHeldActivitiesRetried(t, sc.s.c, held)
	st := walkHistories(t, sc.s.c, sc.s.allRuns(), sc.fake.URL, sc.token)
	t.Logf("histories: %d workflows, %d events, highest activity attempt %d, retries by cause %v, workflow tasks timed out or failed %d",
		len(st.Runs), st.Events, st.MaxAttempt, st.Retries, st.WorkflowTaskProblems)
	assert.Greater(t, st.MaxAttempt, int32(1), "an activity lost with the killed worker was retried")
	sc.logFigures(rep, st)
	return st
}

// pagePoint is a project between two page activities: its stored pipelines
// are those of its pagesDone completed page activities, and the next one has
// started (first attempt, not ended).
type pagePoint struct {
	project   projectRef
	next      heldActivity
	stored    int
	pagesDone int
}

// findBetweenPages returns a project of projects between two page activities
// (nil while there is none).
func findBetweenPages(ctx context.Context, c client.Client, db *sql.DB, projects []projectRef) (*pagePoint, error) {
	counts, err := pipelineCounts(ctx, db)
	if err != nil {
		return nil, nil // no schema yet
	}
	for _, p := range projects {
		n := counts[p.Slug]
		if n == 0 || n%circlecitest.PageSize != 0 || n >= p.Pipelines {
			continue
		}
		if pt, err := betweenPages(ctx, c, p, n); err != nil || pt != nil {
			return pt, err
		}
	}
	return nil, nil
}

// betweenPages returns p's pagePoint if p, with n pipelines stored, is between
// two page activities (nil otherwise).
func betweenPages(ctx context.Context, c client.Client, p projectRef, n int) (*pagePoint, error) {
	held, err := startedActivities(ctx, c, []string{p.WorkflowID})
	if err != nil {
		return nil, err
	}
	var page *heldActivity
	for i, h := range held {
		if h.Type == pageActivity && h.Attempt == 1 {
			page = &held[i]
		}
	}
	if page == nil {
		return nil, nil
	}
	pages, err := completedActivities(ctx, c, p.WorkflowID, page.RunID, pageActivity)
	if err != nil {
		return nil, err
	}
	// The project's first page was SyncProject's (one page each here).
	first, err := completedActivities(ctx, c, p.WorkflowID, page.RunID, "SyncProject")
	if pages += first; err != nil || pages*circlecitest.PageSize != n {
		return nil, err
	}
	// The history is read after the description: the page activity seen
	// running may have completed since.
	o, err := activityInHistory(ctx, c, p.WorkflowID, page.RunID, page.ActivityID)
	if err != nil || o.MaxAttempt != 0 {
		return nil, err
	}
	return &pagePoint{project: p, next: *page, stored: n, pagesDone: pages}, nil
}

// TestWorkerKilledBetweenPages kills the worker process (SIGKILL), on each
// backend, right after a page activity completed: a project has exactly the
// pipelines of its completed page activities stored (one page each,
// CIRCLECI_PAGES_PER_ACTIVITY=1) and the next page activity has started,
// nothing of its page written yet. A second worker process takes over; the
// next page's activity is retried (attempt 2) from its page's start, and the
// tables equal the fake's Expected.
func TestWorkerKilledBetweenPages(t *testing.T) {
	tsrv := startTemporal(t)
	bin := buildWorker(t)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			sc := newFaultScenario(t, tsrv, b, faultSpec{name: "between", seed: 21, dataset: func(opts *circlecitest.Options) {
				opts.PipelinesPerProject = 60
				// Slow enough that a page's first write comes well after its
				// activity started (the page list, then a pipeline's workflow and
				// job lists: 120 ms at least).
				opts.Faults.Latency = 40 * time.Millisecond
			}})
			first := sc.startWorkerProcess(bin, syncworker.EnvPagesPerActivity+"=1")
			c := sc.s.c
			projects := projectRefs(sc.ins, sc.ex)
			ids := append(workflowIDs(projects), connectionIDs(sc.ins)...)
			done := sc.s.runAllAsync(sc.ins)
			db := openWhenCreated(t, sc.dbURL, func() bool { return !first.exited() })
			ctx := context.Background()

			var pt *pagePoint
			waitFor(t, "a page activity completed and the next one started, nothing of its page written",
				2*time.Minute, 5*time.Millisecond, func() (bool, error) {
					if len(done) > 0 {
						return false, errors.New("the sync finished before the worker could be killed between pages")
					}
					if first.exited() {
						return false, fmt.Errorf("the worker exited:\n%s", tail(first.output.String(), 20))
					}
					var err error
					pt, err = findBetweenPages(ctx, c, db, projects)
					return pt != nil, err
				})
			at, next, stored, pagesDone := pt.project, pt.next, pt.stored, pt.pagesDone
			first.kill(t)
			killedAt := time.Now()
			counts, err := pipelineCounts(ctx, db)
			require.NoError(t, err)
			t.Logf("killed worker 1 (SIGKILL) %s into the sync: %s had %d pipelines stored after %d page activities, "+
				"page activity %d started; %d after the kill; stored per project %v; %d API requests so far",
				killedAt.Sub(sc.fig.Start).Round(time.Millisecond), at.Slug, stored, pagesDone, pagesDone+1,
				counts[at.Slug], counts, sc.fake.Stats().Total)
			require.Equal(t, stored, counts[at.Slug], "the kill landed between pages: nothing of page %d was written", pagesDone+1)
			held, err := startedActivities(ctx, c, ids)
			require.NoError(t, err)
			found := false
			for _, h := range held {
				found = found || (h.WorkflowID == next.WorkflowID && h.RunID == next.RunID && h.ActivityID == next.ActivityID)
			}
			require.True(t, found, "the next page's activity %s is held by the dead worker (held: %v)", next, held)
			sc.fig.Faults = fmt.Sprintf("1 SIGKILL between page %d and %d of %s; %d activities held by the dead worker",
				pagesDone, pagesDone+1, at.Slug, len(held))

			second := sc.startWorkerProcess(bin, syncworker.EnvPagesPerActivity+"=1")
			sc.killedWorkerCheck(done, held)
			resumed := false
			for _, line := range retriedPages(second.output.String()) {
				t.Logf("retried after the kill: %s", line)
				resumed = resumed || (strings.Contains(line, "project "+at.Slug+",") &&
					strings.Contains(line, fmt.Sprintf("page %d,", pagesDone+1)))
			}
			assert.True(t, resumed, "the second worker logs the retry of page %d of %s", pagesDone+1, at.Slug)
		})
	}
}

// TestWorkerKilledDuringContinueAsNew kills the worker process (SIGKILL), on
// each backend, right after a ProjectSync continued as new (the dev server
// suggests it after 15 events; one page per activity): the new run has
// started its first page activity from the cursor it was handed, and completed
// none. A second worker process takes over: that activity (and any other the
// dead worker held) is retried, the chain goes on, and the tables equal the
// fake's Expected.
func TestWorkerKilledDuringContinueAsNew(t *testing.T) {
	tsrv := startTemporal(t, "--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=15")
	bin := buildWorker(t)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			sc := newFaultScenario(t, tsrv, b, faultSpec{name: "cankill", seed: 22, dataset: func(opts *circlecitest.Options) {
				opts.PipelinesPerProject = 100
				opts.Faults.Latency = 15 * time.Millisecond
			}})
			first := sc.startWorkerProcess(bin, syncworker.EnvPagesPerActivity+"=1")
			c := sc.s.c
			projects := projectRefs(sc.ins, sc.ex)
			ids := append(workflowIDs(projects), connectionIDs(sc.ins)...)
			done := sc.s.runAllAsync(sc.ins)
			ctx := context.Background()

			// The workflow that continued as new, and the first page activity
			// of its new run, started and not finished.
			var continued string
			var newRunPage heldActivity
			waitFor(t, "a ProjectSync continued as new, its new run's first page activity started",
				2*time.Minute, 5*time.Millisecond, func() (bool, error) {
					if len(done) > 0 {
						return false, errors.New("the sync finished before any ProjectSync continued as new")
					}
					if first.exited() {
						return false, fmt.Errorf("the worker exited:\n%s", tail(first.output.String(), 20))
					}
					var err error
					continued, newRunPage, err = findContinuedRun(ctx, c, projects)
					return continued != "", err
				})
			first.kill(t)
			killedAt := time.Now()
			d, err := describe(ctx, c, continued)
			require.NoError(t, err)
			newRun := fmt.Sprintf("run %s: pending workflow task %v, pending activities %d",
				d.GetWorkflowExecutionInfo().GetExecution().GetRunId(), d.GetPendingWorkflowTask().GetState(),
				len(d.GetPendingActivities()))
			held, err := startedActivities(ctx, c, ids)
			require.NoError(t, err)
			t.Logf("killed worker 1 (SIGKILL) %s into the sync, right after %s continued as new (new %s); "+
				"activities held by the dead worker: %v; %d API requests so far",
				killedAt.Sub(sc.fig.Start).Round(time.Millisecond), continued, newRun, held, sc.fake.Stats().Total)
			found := false
			for _, h := range held {
				found = found || (h.RunID == newRunPage.RunID && h.ActivityID == newRunPage.ActivityID)
			}
			require.True(t, found, "the new run's first page activity %s is held by the dead worker", newRunPage)
			sc.fig.Faults = fmt.Sprintf("1 SIGKILL right after %s continued as new; %d activities held by the dead worker",
				continued, len(held))

			sc.startWorkerProcess(bin, syncworker.EnvPagesPerActivity+"=1")
			st := sc.killedWorkerCheck(done, held)
			assert.GreaterOrEqual(t, st.Runs[continued], 2, "%s continued as new", continued)
		})
	}
}

// findContinuedRun returns a project workflow of projects whose latest run is
// not its first (it continued as new) and has started its first page activity
// and completed none, and that activity ("" while there is none).
func findContinuedRun(ctx context.Context, c client.Client, projects []projectRef) (string, heldActivity, error) {
	for _, p := range projects {
		d, err := describe(ctx, c, p.WorkflowID)
		if err != nil || d == nil {
			continue // not started yet
		}
		info := d.GetWorkflowExecutionInfo()
		run := info.GetExecution().GetRunId()
		if info.GetFirstRunId() == "" || run == info.GetFirstRunId() {
			continue
		}
		held, err := startedActivities(ctx, c, []string{p.WorkflowID})
		if err != nil {
			return "", heldActivity{}, err
		}
		for _, h := range held {
			if h.Type != pageActivity || h.RunID != run || h.Attempt != 1 {
				continue
			}
			n, err := completedActivities(ctx, c, p.WorkflowID, run, pageActivity)
			if err != nil {
				return "", heldActivity{}, err
			}
			if n == 0 {
				return p.WorkflowID, h, nil
			}
		}
	}
	return "", heldActivity{}, nil
}

// TestTwoWorkersOneKilled runs two worker processes on one task queue, on
// each backend, and kills (SIGKILL) one that holds a page activity mid-sync.
// The other one, never restarted, finishes the sync: it retries what the dead
// one held (its workflow tasks move to it once the sticky queue times out),
// and the tables equal the fake's Expected.
func TestTwoWorkersOneKilled(t *testing.T) {
	tsrv := startTemporal(t)
	bin := buildWorker(t)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			sc := newFaultScenario(t, tsrv, b, faultSpec{name: "two", seed: 23, dataset: func(opts *circlecitest.Options) {
				opts.PipelinesPerProject = 60
				opts.Faults.Latency = 20 * time.Millisecond
			}})
			pages := syncworker.EnvPagesPerActivity + "=2"
			workers := []*workerProc{sc.startWorkerProcess(bin, pages), sc.startWorkerProcess(bin, pages)}
			c := sc.s.c
			projects := projectRefs(sc.ins, sc.ex)
			ids := append(workflowIDs(projects), connectionIDs(sc.ins)...)
			done := sc.s.runAllAsync(sc.ins)
			alive := func() bool { return !workers[0].exited() && !workers[1].exited() }
			db := openWhenCreated(t, sc.dbURL, alive)
			ctx := context.Background()
			total := len(sc.ex.Pipelines)

			victim := -1
			waitFor(t, "a third of the pipelines stored and a page activity running", 2*time.Minute, 5*time.Millisecond,
				func() (bool, error) {
					if len(done) > 0 {
						return false, errors.New("the sync finished before a worker could be killed")
					}
					if !alive() {
						return false, errors.New("a worker exited on its own")
					}
					if storedPipelines(ctx, db)*3 < total {
						return false, nil
					}
					held, err := startedActivities(ctx, c, workflowIDs(projects))
					if err != nil {
						return false, err
					}
					for _, h := range held {
						for i, w := range workers {
							if h.Type == pageActivity && strings.HasPrefix(h.Identity, fmt.Sprintf("%d@", w.cmd.Process.Pid)) {
								victim = i
								return true, nil
							}
						}
					}
					return false, nil
				})
			dead, survivor := workers[victim], workers[1-victim]
			dead.kill(t)
			deadID := fmt.Sprintf("%d@", dead.cmd.Process.Pid)
			all, err := startedActivities(ctx, c, ids)
			require.NoError(t, err)
			var held []heldActivity
			for _, h := range all {
				if strings.HasPrefix(h.Identity, deadID) {
					held = append(held, h)
				}
			}
			t.Logf("killed worker %d (pid %d, SIGKILL) with %d of %d pipelines stored; it held %v; the other worker (pid %d) holds %d",
				victim+1, dead.cmd.Process.Pid, storedPipelines(ctx, db), total, held, survivor.cmd.Process.Pid,
				len(all)-len(held))
			require.NotEmpty(t, held, "the killed worker held a page activity")
			sc.fig.Faults = fmt.Sprintf("1 SIGKILL of one of 2 workers mid-sync; %d activities held by it", len(held))

			sc.killedWorkerCheck(done, held)
			assert.False(t, survivor.exited(), "the surviving worker is still running: it was never restarted")
			survivorID := fmt.Sprintf("%d@", survivor.cmd.Process.Pid)
			for _, h := range held {
				o, err := activityInHistory(ctx, c, h.WorkflowID, h.RunID, h.ActivityID)
				require.NoError(t, err)
				assert.True(t, strings.HasPrefix(o.Identity, survivorID),
					"%s was completed by the surviving worker (identity %q)", h, o.Identity)
			}
		})
	}
}
