package workflows

import (
	"go.temporal.io/sdk/workflow"
)

// targetsOnly serves targets without a cycle: it completes once nothing was
// queued for TargetsIdle (so that a schedule's next start is not refused as
// running), and continues as new into a cycle on a resync request.
func (r *connectionRun) targetsOnly(ctx workflow.Context) (ConnectionSyncResult, error) {
	st := r.st
	r.setPhase(ctx, PhaseTargets)
	res := ConnectionSyncResult{ConnectionID: r.in.ConnectionID}
	idle := func() bool { return len(st.Targets) == 0 && r.batches == 0 }
	interrupt := func() bool { return st.Included > 0 || continueAsNewSuggested(ctx) }
	for {
		woken, err := workflow.AwaitWithTimeout(ctx, r.in.TargetsIdle.D(), func() bool { return interrupt() || !idle() })
		if err != nil {
			return res, err
		}
		switch {
		case st.Included > 0:
			r.in.TargetsOnly = false
			return res, r.continueAsNew(ctx, &ConnectionSyncState{Phase: PhaseVerify, Cycle: st.Cycle})
		case continueAsNewSuggested(ctx):
			return res, r.continueAsNew(ctx, &ConnectionSyncState{Phase: PhaseTargets, Cycle: st.Cycle})
		case !woken && workflow.AllHandlersFinished(ctx):
			r.setPhase(ctx, PhaseDone)
			res.TargetCounts = st.TargetCounts
			return res, nil
		}
		if err := workflow.Await(ctx, func() bool { return interrupt() || idle() }); err != nil {
			return res, err
		}
	}
}

// finish ends a run whose cycle ended the workflow: the queued targets are
// synced first, unless the cycle failed (polling will bring them).
func (r *connectionRun) finish(ctx workflow.Context, res ConnectionSyncResult, err error) (ConnectionSyncResult, error) {
	if err == nil {
		err = r.drainTargets(ctx)
	} else if n := len(r.st.Targets); n > 0 {
		workflow.GetLogger(ctx).Warn("targets dropped: the run failed", "targets", n)
	}
	res.TargetCounts = r.st.TargetCounts
	return res, err
}
