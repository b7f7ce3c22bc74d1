package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
func killedWorkerCheck(t *testing.T, s *syncer, fake *circlecitest.Server, dbURL string,
	ins []workflows.ConnectionSyncInput, done <-chan syncOutcome, held []heldActivity, fig *figures) chainStats {
	t.Helper()
	results := awaitOutcome(t, ins, done)
	logResults(t, "after the kill", ins, results)
	token := fake.Token()
	rep := requireTablesEqual(t, dbURL, fake.Expected(token))
	for _, d := range rep.Tables {
		assert.Equal(t, d.Expected, d.Stored, "%s: row count", d.Table)
	}
	requireHeldActivitiesRetried(t, s.c, held)
	st := walkHistories(t, s.c, s.allRuns(), fake.URL, token)
	t.Logf("histories: %d workflows, %d events, highest activity attempt %d, retries by cause %v, workflow tasks timed out or failed %d",
		len(st.Runs), st.Events, st.MaxAttempt, st.Retries, st.WorkflowTaskProblems)
	assert.Greater(t, st.MaxAttempt, int32(1), "an activity lost with the killed worker was retried")
	fig.fromReport(rep)
	fig.fromHistories(st)
	fig.Requests = fake.Stats().Total
	fig.log(t)
	return st
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
			fig := figures{Start: time.Now()}
			dbURL := b.url(t)
			opts := datasetOptions(21)
			opts.PipelinesPerProject = 60
			// Slow enough that a page's first write comes well after its
			// activity started (the page list, then a pipeline's workflow and
			// job lists: 120 ms at least).
			opts.Faults.Latency = 40 * time.Millisecond
			fake := startFake(t, opts)
			token := fake.Token()
			ex := fake.Expected(token)
			tokenEnv := newEnvName("TOKEN")
			tq := newID("e2e-between-" + b.name)
			env := faultWorkerEnv(tsrv.FrontendHostPort(), dbURL, tq, tokenEnv, token, syncworker.EnvPagesPerActivity+"=1")
			first := startWorkerProcess(t, bin, env)
			c := tsrv.Client()
			s := &syncer{c: c, taskQueue: tq}
			ins := connectionInputs(fake, newID("between"), tokenEnv)
			projects := projectRefs(ins, ex)
			ids := append(workflowIDs(projects), connectionIDs(ins)...)
			done := s.runAllAsync(ins)
			db := openWhenCreated(t, dbURL, func() bool { return !first.exited() })
			ctx := context.Background()

			var at projectRef
			var next heldActivity
			var stored, pagesDone int
			waitFor(t, "a page activity completed and the next one started, nothing of its page written",
				2*time.Minute, 5*time.Millisecond, func() (bool, error) {
					if len(done) > 0 {
						return false, errors.New("the sync finished before the worker could be killed between pages")
					}
					if first.exited() {
						return false, fmt.Errorf("the worker exited:\n%s", tail(first.output.String(), 20))
					}
					counts, err := pipelineCounts(ctx, db)
					if err != nil {
						return false, nil // no schema yet
					}
					for _, p := range projects {
						n := counts[p.Slug]
						if n == 0 || n%circlecitest.PageSize != 0 || n >= p.Pipelines {
							continue
						}
						held, err := startedActivities(ctx, c, []string{p.WorkflowID})
						if err != nil {
							return false, err
						}
						var page *heldActivity
						for i, h := range held {
							if h.Type == pageActivity && h.Attempt == 1 {
								page = &held[i]
							}
						}
						if page == nil {
							continue
						}
						pages, err := completedActivities(ctx, c, p.WorkflowID, page.RunID, pageActivity)
						if err != nil {
							return false, err
						}
						if pages*circlecitest.PageSize != n {
							continue
						}
						// The history is read after the description: the page
						// activity seen running may have completed since.
						o, err := activityInHistory(ctx, c, p.WorkflowID, page.RunID, page.ActivityID)
						if err != nil {
							return false, err
						}
						if o.MaxAttempt != 0 {
							continue
						}
						at, next, stored, pagesDone = p, *page, n, pages
						return true, nil
					}
					return false, nil
				})
			first.kill(t)
			killedAt := time.Now()
			counts, err := pipelineCounts(ctx, db)
			require.NoError(t, err)
			t.Logf("killed worker 1 (SIGKILL) %s into the sync: %s had %d pipelines stored after %d page activities, "+
				"page activity %d started; %d after the kill; stored per project %v; %d API requests so far",
				killedAt.Sub(fig.Start).Round(time.Millisecond), at.Slug, stored, pagesDone, pagesDone+1,
				counts[at.Slug], counts, fake.Stats().Total)
			require.Equal(t, stored, counts[at.Slug], "the kill landed between pages: nothing of page %d was written", pagesDone+1)
			held, err := startedActivities(ctx, c, ids)
			require.NoError(t, err)
			found := false
			for _, h := range held {
				found = found || (h.WorkflowID == next.WorkflowID && h.RunID == next.RunID && h.ActivityID == next.ActivityID)
			}
			require.True(t, found, "the next page's activity %s is held by the dead worker (held: %v)", next, held)
			fig.Faults = fmt.Sprintf("1 SIGKILL between page %d and %d of %s; %d activities held by the dead worker",
				pagesDone, pagesDone+1, at.Slug, len(held))

			second := startWorkerProcess(t, bin, env)
			killedWorkerCheck(t, s, fake, dbURL, ins, done, held, &fig)
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
			fig := figures{Start: time.Now()}
			dbURL := b.url(t)
			opts := datasetOptions(22)
			opts.PipelinesPerProject = 100
			opts.Faults.Latency = 15 * time.Millisecond
			fake := startFake(t, opts)
			token := fake.Token()
			ex := fake.Expected(token)
			tokenEnv := newEnvName("TOKEN")
			tq := newID("e2e-cankill-" + b.name)
			env := faultWorkerEnv(tsrv.FrontendHostPort(), dbURL, tq, tokenEnv, token, syncworker.EnvPagesPerActivity+"=1")
			first := startWorkerProcess(t, bin, env)
			c := tsrv.Client()
			s := &syncer{c: c, taskQueue: tq}
			ins := connectionInputs(fake, newID("cankill"), tokenEnv)
			projects := projectRefs(ins, ex)
			ids := append(workflowIDs(projects), connectionIDs(ins)...)
			done := s.runAllAsync(ins)
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
							return false, err
						}
						for _, h := range held {
							if h.Type != pageActivity || h.RunID != run || h.Attempt != 1 {
								continue
							}
							n, err := completedActivities(ctx, c, p.WorkflowID, run, pageActivity)
							if err != nil {
								return false, err
							}
							if n == 0 {
								continued, newRunPage = p.WorkflowID, h
								return true, nil
							}
						}
					}
					return false, nil
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
				killedAt.Sub(fig.Start).Round(time.Millisecond), continued, newRun, held, fake.Stats().Total)
			found := false
			for _, h := range held {
				found = found || (h.RunID == newRunPage.RunID && h.ActivityID == newRunPage.ActivityID)
			}
			require.True(t, found, "the new run's first page activity %s is held by the dead worker", newRunPage)
			fig.Faults = fmt.Sprintf("1 SIGKILL right after %s continued as new; %d activities held by the dead worker",
				continued, len(held))

			startWorkerProcess(t, bin, env)
			st := killedWorkerCheck(t, s, fake, dbURL, ins, done, held, &fig)
			assert.GreaterOrEqual(t, st.Runs[continued], 2, "%s continued as new", continued)
		})
	}
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
			fig := figures{Start: time.Now()}
			dbURL := b.url(t)
			opts := datasetOptions(23)
			opts.PipelinesPerProject = 60
			opts.Faults.Latency = 20 * time.Millisecond
			fake := startFake(t, opts)
			token := fake.Token()
			ex := fake.Expected(token)
			tokenEnv := newEnvName("TOKEN")
			tq := newID("e2e-two-" + b.name)
			env := faultWorkerEnv(tsrv.FrontendHostPort(), dbURL, tq, tokenEnv, token, syncworker.EnvPagesPerActivity+"=2")
			workers := []*workerProc{startWorkerProcess(t, bin, env), startWorkerProcess(t, bin, env)}
			c := tsrv.Client()
			s := &syncer{c: c, taskQueue: tq}
			ins := connectionInputs(fake, newID("two"), tokenEnv)
			projects := projectRefs(ins, ex)
			ids := append(workflowIDs(projects), connectionIDs(ins)...)
			done := s.runAllAsync(ins)
			alive := func() bool { return !workers[0].exited() && !workers[1].exited() }
			db := openWhenCreated(t, dbURL, alive)
			ctx := context.Background()
			total := len(ex.Pipelines)

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
			fig.Faults = fmt.Sprintf("1 SIGKILL of one of 2 workers mid-sync; %d activities held by it", len(held))

			killedWorkerCheck(t, s, fake, dbURL, ins, done, held, &fig)
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
