package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/activities"
)

// Batching of the queued targets: a batch closes TargetWindow after it could
// start, or at activities.MaxTargets pipelines; MaxTargetBatches run at once,
// each within TargetBatchBudget (then it is requeued once).
const (
	TargetWindow      = 500 * time.Millisecond
	MaxTargetBatches  = 2
	TargetBatchBudget = 15 * time.Minute
)

// serveTargets runs the queued targets in SyncPipelines batches, alongside and
// between cycles; it starts none once the run is closing (continue-as-new).
func (r *connectionRun) serveTargets(ctx workflow.Context) {
	st := r.st
	for {
		err := workflow.Await(ctx, func() bool { return !r.closing && len(st.Targets) > 0 && r.batches < MaxTargetBatches })
		if err != nil {
			return
		}
		_, err = workflow.AwaitWithTimeout(ctx, TargetWindow, func() bool {
			return r.closing || len(st.Targets) >= activities.MaxTargets
		})
		if err != nil {
			return
		}
		if r.closing {
			continue
		}
		n := min(len(st.Targets), activities.MaxTargets)
		batch := slices.Clone(st.Targets[:n])
		st.Targets = slices.Delete(st.Targets, 0, n)
		r.batches++
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer func() { r.batches-- }()
			r.runBatch(ctx, batch)
		})
	}
}

// runBatch syncs batch's pipelines, then the users they reference; a failed
// batch is requeued.
func (r *connectionRun) runBatch(ctx workflow.Context, batch []QueuedTarget) {
	ts := make([]activities.PipelineTarget, len(batch))
	for i, t := range batch {
		ts[i] = t.PipelineTarget
	}
	opts := workflow.GetActivityOptions(withPageActivity(ctx))
	opts.ScheduleToCloseTimeout = TargetBatchBudget
	ctx = workflow.WithActivityOptions(ctx, opts)
	var counts activities.SyncCounts
	err := r.exec(ctx, fmt.Sprintf("sync %d pipelines from webhook events", len(ts)), a.SyncPipelines,
		activities.PipelinesInput{Connection: r.in.connection(), Targets: ts}, &counts)
	r.st.TargetCounts.Add(counts)
	if err != nil {
		r.requeue(ctx, batch, err)
		return
	}
	r.resolveTargetUsers(ctx, ts)
}

// requeue puts a failed batch's targets back at the front of the queue, once
// (merged into a target queued since); an invalid batch is dropped.
func (r *connectionRun) requeue(ctx workflow.Context, batch []QueuedTarget, err error) {
	st := r.st
	var again []QueuedTarget
	dropped := 0
	for _, t := range batch {
		if i := r.queued(t.PipelineID); i >= 0 {
			q := &st.Targets[i]
			q.WorkflowIDs = slices.Compact(slices.Sorted(slices.Values(append(q.WorkflowIDs, t.WorkflowIDs...))))
			continue
		}
		if t.Retried || isErrorType(err, activities.ErrInvalidInput) || len(st.Targets)+len(again) >= MaxPendingTargets {
			dropped++
			continue
		}
		t.Retried = true
		again = append(again, t)
	}
	st.Targets = append(again, st.Targets...)
	workflow.GetLogger(ctx).Warn("targeted sync failed", "targets", len(batch), "requeued", len(again),
		"dropped", dropped, "error", err)
}

// resolveTargetUsers fetches the users the batch's projects reference and are
// not stored within UsersFreshFor (a rerun's actor may be new); a failure is
// noted, never retried here: the next cycle resolves them.
func (r *connectionRun) resolveTargetUsers(ctx workflow.Context, ts []activities.PipelineTarget) {
	var projects []string
	for _, t := range ts {
		projects = append(projects, t.ProjectSlug)
	}
	slices.Sort(projects)
	opts := workflow.GetActivityOptions(ctx)
	opts.RetryPolicy.MaximumAttempts = 3
	var users activities.ResolveUsersResult
	_ = r.exec(workflow.WithActivityOptions(ctx, opts), "resolve the users of the targeted projects", a.ResolveUsers,
		activities.ResolveUsersInput{Connection: r.in.connection(), Projects: slices.Compact(projects),
			FreshFor: *r.in.UsersFreshFor}, &users)
	r.st.TargetCounts.Add(users.Counts)
}

// drainTargets waits until no target is queued or being synced.
func (r *connectionRun) drainTargets(ctx workflow.Context) error {
	return workflow.Await(ctx, func() bool {
		return len(r.st.Targets) == 0 && r.batches == 0 && workflow.AllHandlersFinished(ctx)
	})
}
