package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/store"
)

// ConnectionSync syncs one CircleCI connection, a cycle per run: verify,
// discover, one ProjectSync child per project, users, record.
func ConnectionSync(ctx workflow.Context, in ConnectionSyncInput) (ConnectionSyncResult, error) {
	if err := refuseExternalState(ctx, in.State != nil); err != nil {
		return ConnectionSyncResult{}, err
	}
	if err := in.Validate(); err != nil {
		return ConnectionSyncResult{}, err
	}
	r := &connectionRun{in: in.withDefaults(), st: in.State}
	r.in.State = nil
	if r.st == nil {
		r.st = &ConnectionSyncState{Phase: PhaseVerify}
	}
	r.st.Cycle = max(r.st.Cycle, 1)
	return r.run(prioritized(ctx, in.ConnectionID))
}

// connectionRun is one run of ConnectionSync.
type connectionRun struct {
	in      ConnectionSyncInput
	st      *ConnectionSyncState
	sa      *searchAttrs
	signals workflow.ReceiveChannel
	// batches counts the targeted syncs running; closing stops new ones.
	batches int
	closing bool
	// projects are the running projects' reported figures; live those of the
	// connection's own running activity.
	projects map[string]*projectLive
	live     stepLive
}

// run runs the cycle (unless it continues a wait), then ends or waits for the
// next cycle and continues as new into it.
func (r *connectionRun) run(ctx workflow.Context) (ConnectionSyncResult, error) {
	if err := r.setUp(ctx); err != nil {
		return ConnectionSyncResult{}, err
	}
	if r.in.TargetsOnly {
		return r.targetsOnly(ctx)
	}
	var res ConnectionSyncResult
	if r.st.NextCycleAt.IsZero() {
		var err error
		res, err = r.cycle(ctx)
		if workflow.IsContinueAsNewError(err) {
			return res, err
		}
		drainResyncSignals(ctx, r.signals, r.st)
		if r.ends(ctx, res, err) {
			return r.finish(ctx, res, err)
		}
	}
	if err := r.waitForNextCycle(ctx); err != nil {
		return res, err
	}
	st := r.st
	return res, r.continueAsNew(ctx, &ConnectionSyncState{Phase: PhaseVerify, Cycle: st.Cycle + 1,
		Previous: st.Previous, DroppedSignals: st.DroppedSignals})
}

// setUp registers the handlers and looks up the search attributes.
func (r *connectionRun) setUp(ctx workflow.Context) error {
	err := workflow.SetQueryHandlerWithOptions(ctx, ProgressQuery, func() (ConnectionProgress, error) {
		return r.progress(ctx), nil
	}, workflow.QueryHandlerOptions{Description: "The current cycle's phase, projects and figures (ConnectionProgress)."})
	if err != nil {
		return fmt.Errorf("set the progress query handler: %w", err)
	}
	receiveLive(ctx, r.onLive)
	if r.signals, err = handleResyncs(ctx, r.st); err != nil {
		return err
	}
	if err := r.handleTargets(ctx); err != nil {
		return err
	}
	workflow.Go(ctx, r.serveTargets)
	if r.st.SearchAttributes == nil {
		r.st.SearchAttributes = lookUpSearchAttrs(ctx)
	}
	r.sa = newSearchAttrs(ctx, r.st.SearchAttributes)
	r.setPhase(ctx, r.st.Phase)
	return nil
}

// ends sums up the cycle and tells whether the workflow ends with it: a one-off
// sync with no resync pending, or a bad input (every cycle would fail alike).
func (r *connectionRun) ends(ctx workflow.Context, res ConnectionSyncResult, err error) bool {
	st := r.st
	now := workflow.Now(ctx).UTC()
	oneOff := !r.in.Continuous && st.ResyncPending == 0
	if err != nil {
		r.setPhase(ctx, PhaseFailed)
		if oneOff || isErrorType(err, activities.ErrInvalidInput) {
			return true
		}
		st.Previous = &CycleSummary{Cycle: st.Cycle, Error: describe(err), CompletedAt: now}
		workflow.GetLogger(ctx).Warn("sync cycle failed; the next one runs", "cycle", st.Cycle, "error", err)
		return false
	}
	st.Previous = &CycleSummary{Cycle: st.Cycle, FailedProjects: res.FailedProjects, Totals: res.Totals, CompletedAt: now}
	if oneOff {
		r.setPhase(ctx, PhaseDone)
	}
	return oneOff
}

// waitForNextCycle waits until the next cycle is due or asked for. When the
// history grows long meanwhile (signals), the wait goes on in a new run.
func (r *connectionRun) waitForNextCycle(ctx workflow.Context) error {
	st := r.st
	if st.ResyncPending > 0 {
		return nil
	}
	now := workflow.Now(ctx)
	if st.NextCycleAt.IsZero() {
		st.NextCycleAt = now.Add(r.in.Interval.D()).UTC()
		if st.Previous == nil || st.Previous.Error == "" {
			r.setPhase(ctx, PhaseWaiting)
		}
	}
	wait := st.NextCycleAt.Sub(now)
	ready, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{Timeout: max(wait, time.Millisecond),
		TimerOptions: workflow.TimerOptions{Summary: fmt.Sprintf("next cycle in %s, or on a resync request", wait)}},
		func() bool { return st.ResyncPending > 0 || continueAsNewSuggested(ctx) })
	if err != nil {
		return err
	}
	if ready && st.ResyncPending == 0 {
		return r.continueAsNew(ctx, &ConnectionSyncState{Phase: st.Phase, Cycle: st.Cycle, Begun: true,
			Previous: st.Previous, NextCycleAt: st.NextCycleAt, SearchAttributes: st.SearchAttributes})
	}
	return nil
}

// continueAsNew continues as new with next, once the handlers have finished and
// the signals are drained, carrying the pending requests.
func (r *connectionRun) continueAsNew(ctx workflow.Context, next *ConnectionSyncState) error {
	r.closing = true
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) && r.batches == 0 }); err != nil {
		return err
	}
	drainResyncSignals(ctx, r.signals, r.st)
	if next.Cycle > r.st.Cycle {
		next.Included = r.st.ResyncPending
	} else {
		next.ResyncPending = r.st.ResyncPending
	}
	next.LastResyncReason = r.st.LastResyncReason
	next.DroppedSignals = r.st.DroppedSignals
	if !r.st.Begun {
		next.Included = r.st.Included
	}
	next.Targets, next.RecentEvents, next.TargetCounts = r.st.Targets, r.st.RecentEvents, r.st.TargetCounts
	in := r.in
	in.State = next
	return workflow.NewContinueAsNewError(ctx, ConnectionSyncName, in)
}

// setPhase records the phase, the search attributes and the current details.
func (r *connectionRun) setPhase(ctx workflow.Context, phase string) {
	r.st.Phase = phase
	r.refresh(ctx)
}

// refresh upserts the search attributes and sets the current details.
func (r *connectionRun) refresh(ctx workflow.Context) {
	p := r.progress(ctx)
	r.sa.upsert(ctx, keyword(SearchAttrConnection, r.in.ConnectionID), keyword(SearchAttrOrg, r.in.OrgSlug),
		keyword(SearchAttrPhase, p.Phase), integer(SearchAttrPipelines, p.Totals.Of(store.KindPipeline)))
	workflow.SetCurrentDetails(ctx, p.details())
}
