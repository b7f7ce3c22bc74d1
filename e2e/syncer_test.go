package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// syncTimeout bounds one sync (every connection of it); a sync that takes longer
// has hung.
const syncTimeout = 5 * time.Minute

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
