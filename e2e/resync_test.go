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
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/syncworker"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// chainRun is one run of a ConnectionSync chain, as its history tells.
type chainRun struct {
	RunID     string
	Started   time.Time
	Cycle     int // of the input's state (1 without one)
	Included  int // re-sync requests the cycle includes (from the input's state)
	LastEvent enumspb.EventType
	Next      string // the run it continued as, if any
	// UpdatesAccepted and Signals count the resync Updates accepted and the
	// signals received by the run.
	UpdatesAccepted, Signals int
}

// readChain reads every run of the chain that starts with run firstRunID of
// workflow id.
func readChain(ctx context.Context, c client.Client, id, firstRunID string) ([]chainRun, error) {
	var out []chainRun
	for runID := firstRunID; runID != ""; {
		r := chainRun{RunID: runID, Cycle: 1}
		it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return nil, fmt.Errorf("history of %s run %s: %w", id, runID, err)
			}
			r.LastEvent = ev.GetEventType()
			switch {
			case ev.GetWorkflowExecutionStartedEventAttributes() != nil:
				r.Started = ev.GetEventTime().AsTime()
				var in workflows.ConnectionSyncInput
				err := converter.GetDefaultDataConverter().FromPayloads(
					ev.GetWorkflowExecutionStartedEventAttributes().GetInput(), &in)
				if err != nil {
					return nil, fmt.Errorf("input of %s run %s: %w", id, runID, err)
				}
				if in.State != nil {
					r.Cycle, r.Included = max(in.State.Cycle, 1), in.State.Included
				}
			case ev.GetWorkflowExecutionUpdateAcceptedEventAttributes() != nil:
				r.UpdatesAccepted++
			case ev.GetWorkflowExecutionSignaledEventAttributes().GetSignalName() == workflows.ResyncSignal:
				r.Signals++ // not the projects' live-progress signals
			case ev.GetWorkflowExecutionContinuedAsNewEventAttributes() != nil:
				r.Next = ev.GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
			}
		}
		out = append(out, r)
		runID = r.Next
	}
	return out, nil
}

// progressOf queries a ConnectionSync's progress.
func progressOf(ctx context.Context, c client.Client, id string) (workflows.ConnectionProgress, error) {
	var p workflows.ConnectionProgress
	v, err := c.QueryWorkflow(ctx, id, "", workflows.ProgressQuery)
	if err != nil {
		return p, err
	}
	return p, v.Get(&p)
}

// resyncUpdate sends the resync Update and waits for its answer.
func resyncUpdate(ctx context.Context, c client.Client, id, reason string) (workflows.ResyncResponse, error) {
	var res workflows.ResyncResponse
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   id,
		UpdateName:   workflows.ResyncUpdate,
		Args:         []any{workflows.ResyncRequest{Reason: reason}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return res, err
	}
	return res, h.Get(ctx, &res)
}

// TestResyncDuringSync asks a running sync for a re-sync, on each backend,
// while its first cycle syncs the projects: the resync Update three times and
// the signal once. Each Update answers that cycle 2 includes it (queued, then
// coalesced); exactly one follow-up cycle runs (the chain is cycle 1, then
// cycle 2, which completes); cycle 2 is incremental, with far fewer requests
// than cycle 1 (counted by a proxy in front of the fake, split at cycle 2's
// start); and the tables equal the fake's Expected. An Update with a reason
// over 200 bytes is refused by the validator (invalid_input) and changes
// nothing.
func TestResyncDuringSync(t *testing.T) {
	tsrv := startTemporal(t)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			sc := newFaultScenario(t, tsrv, b, faultSpec{name: "resync", seed: 51, proxy: true,
				dataset: func(opts *circlecitest.Options) {
					opts.Projects = 9 // 3 per organisation; one organisation is synced
					opts.PipelinesPerProject = 60
					opts.Faults.Latency = 20 * time.Millisecond
				}})
			dbURL, proxy, token := sc.dbURL, sc.proxy, sc.token
			logs := sc.startWorker(func(cfg *syncworker.Config) {
				cfg.PageConcurrency = 2
				cfg.PagesPerActivity = 1
			})
			c, s := sc.s.c, sc.s
			in := sc.ins[0]
			projects := sc.firstOrgProjects(3)
			ex := filterExpected(sc.ex, projects...)
			ctx := context.Background()

			run, err := s.start(ctx, in)
			require.NoError(t, err)
			id, firstRun := run.GetID(), run.GetRunID()
			db := openWhenCreated(t, dbURL, func() bool { return true })
			waitFor(t, "cycle 1 syncing the projects", 2*time.Minute, 10*time.Millisecond, func() (bool, error) {
				p, err := progressOf(ctx, c, id)
				if err != nil {
					return false, nil // no workflow task done yet
				}
				if p.Cycle != 1 || p.Phase == workflows.PhaseDone {
					return false, fmt.Errorf("cycle 1 ended before the requests (progress %+v)", p)
				}
				return p.Phase == workflows.PhaseProjects && storedPipelines(ctx, db) > 0, nil
			})

			requestResyncs(t, c, id, func() int { return storedPipelines(ctx, db) }, len(ex.Pipelines))

			var res workflows.ConnectionSyncResult
			wctx, cancel := context.WithTimeout(ctx, syncTimeout)
			defer cancel()
			require.NoError(t, run.Get(wctx, &res), "the chain completes")
			checkResults(t, []workflows.ConnectionSyncInput{in}, []workflows.ConnectionSyncResult{res}, []error{nil})
			logResults(t, "cycle 2", []workflows.ConnectionSyncInput{in}, []workflows.ConnectionSyncResult{res})
			assert.Equal(t, 2, res.Cycle, "the result is cycle 2's")

			chain := requireOneFollowUpCycle(t, c, id, firstRun, res)
			requireIncrementalRequests(t, sc, chain[1].Started, res, len(projects))

			rep := requireTablesEqual(t, dbURL, ex)
			st := walkHistories(t, c, s.allRuns(), proxy.URL, token)
			requireNoSecretInLogs(t, map[string]string{"worker": logs.String()}, sc.prefix, token)
			sc.fig.Faults = "1 refused update, 3 resync updates and 1 signal during cycle 1"
			sc.logFigures(rep, st)
		})
	}
}

// requestResyncs asks the running ConnectionSync id (in cycle 1) for a
// re-sync: once with a reason too long (refused, nothing pending), three times
// by Update (the first queued, the others coalesced into cycle 2), once by
// signal. stored reports the pipelines stored, of total, for the log.
func requestResyncs(t *testing.T, c client.Client, id string, stored func() int, total int) {
	t.Helper()
	ctx := context.Background()
	// A reason over 200 bytes: the validator refuses it, nothing changes.
	_, err := resyncUpdate(ctx, c, id, strings.Repeat("x", workflows.MaxResyncReason+1))
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "the too-long reason is refused with an ApplicationError: %v", err)
	assert.Equal(t, activities.ErrInvalidInput, appErr.Type())
	t.Logf("refused: %v", err)
	p, err := progressOf(ctx, c, id)
	require.NoError(t, err)
	assert.Zero(t, p.ResyncPending, "the refused request is not pending")

	var answers []workflows.ResyncResponse
	for i := 1; i <= 3; i++ {
		res, err := resyncUpdate(ctx, c, id, fmt.Sprintf("e2e update %d", i))
		require.NoError(t, err)
		answers = append(answers, res)
	}
	require.NoError(t, c.SignalWorkflow(ctx, id, "", workflows.ResyncSignal,
		workflows.ResyncRequest{Reason: "e2e signal"}))
	p, err = progressOf(ctx, c, id)
	require.NoError(t, err)
	t.Logf("answers %+v; progress after the signal: cycle %d, phase %s, resync_pending %d, pipelines stored %d of %d",
		answers, p.Cycle, p.Phase, p.ResyncPending, stored(), total)
	require.Equal(t, 1, p.Cycle, "the requests came during cycle 1")
	for i, a := range answers {
		want := workflows.ResyncCoalesced
		if i == 0 {
			want = workflows.ResyncQueued
		}
		assert.Equal(t, workflows.ResyncResponse{Cycle: 2, Status: want, RunningCycle: 1, Pending: i + 1}, a,
			"answer to update %d", i+1)
	}
}

// requireOneFollowUpCycle reads the chain of ConnectionSync id from run
// firstRun and checks it ran cycle 1, then one cycle 2 that served the three
// updates and the signal, incrementally (res is its result).
func requireOneFollowUpCycle(t *testing.T, c client.Client, id, firstRun string,
	res workflows.ConnectionSyncResult) []chainRun {
	t.Helper()
	chain, err := readChain(context.Background(), c, id, firstRun)
	require.NoError(t, err)
	for _, r := range chain {
		t.Logf("run %s: cycle %d (includes %d requests), %d updates accepted, %d signals, last event %s",
			r.RunID, r.Cycle, r.Included, r.UpdatesAccepted, r.Signals, r.LastEvent)
	}
	require.Len(t, chain, 2, "exactly one follow-up cycle")
	assert.Equal(t, 1, chain[0].Cycle)
	assert.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW, chain[0].LastEvent)
	assert.Equal(t, 3, chain[0].UpdatesAccepted, "the refused update left no event")
	assert.Equal(t, 1, chain[0].Signals)
	assert.Equal(t, 2, chain[1].Cycle)
	assert.Equal(t, 4, chain[1].Included, "cycle 2 serves the 3 updates and the signal")
	assert.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, chain[1].LastEvent)
	for _, o := range res.Projects {
		assert.True(t, o.Incremental, "cycle 2 syncs %s incrementally", o.ProjectSlug)
	}
	return chain
}

// requireIncrementalRequests splits the requests the proxy saw at cycle 2's
// start and checks that cycle 2 made far fewer than cycle 1, at most one
// pipeline page per project.
func requireIncrementalRequests(t *testing.T, sc *faultScenario, cycle2Start time.Time,
	res workflows.ConnectionSyncResult, projects int) {
	t.Helper()
	// Requests by cycle: cycle 1 ends (its last activity) before the run
	// continues as new; cycle 2 starts with its run.
	var cycle1, cycle2 int
	pages := map[int]int{} // pipeline page lists by cycle
	for _, r := range sc.proxy.requests() {
		cycle := 1
		if !r.Arrived.Before(cycle2Start) {
			cycle = 2
		}
		if cycle == 1 {
			cycle1++
		} else {
			cycle2++
		}
		if strings.HasPrefix(r.Path, "/api/v2/project/") && strings.HasSuffix(r.Path, "/pipeline") {
			pages[cycle]++
		}
	}
	stats := sc.fake.Stats()
	t.Logf("requests: cycle 1 %d (%d pipeline pages), cycle 2 %d (%d pipeline pages), ratio %.3f; fake total %d; "+
		"cycle 2's result reports %d",
		cycle1, pages[1], cycle2, pages[2], float64(cycle2)/float64(cycle1), stats.Total, res.Totals.Requests)
	assert.Equal(t, int(stats.Total), cycle1+cycle2, "every request went through the proxy")
	assert.Positive(t, cycle2, "cycle 2 ran")
	assert.Less(t, cycle2*4, cycle1, "cycle 2 makes the incremental requests only: under a quarter of cycle 1's")
	assert.LessOrEqual(t, pages[2], projects, "cycle 2 reads one pipeline page per project at most")
}
