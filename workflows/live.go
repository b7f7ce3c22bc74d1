package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/activities"
)

// LiveProgressSignal carries an activities.LiveProgress: from a long activity
// to its workflow (workflows cannot read heartbeats), and from a project
// workflow to its connection workflow. Each is a history event; the activities
// send at most one every activities.DefaultReportEvery (docs/design.md).
const LiveProgressSignal = "live-progress"

// receiveLive runs apply on every live progress signal, in a goroutine.
func receiveLive(ctx workflow.Context, apply func(workflow.Context, activities.LiveProgress)) {
	ch := workflow.GetSignalChannel(ctx, LiveProgressSignal)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var p activities.LiveProgress
			if !ch.Receive(ctx, &p) {
				return
			}
			apply(ctx, p)
		}
	})
}

// stepLive holds the live figures of the step (activity) running, if any.
type stepLive struct {
	step   string
	counts activities.SyncCounts
}

// start names the step starting; its figures are zero until it reports.
func (s *stepLive) start(step string) { *s = stepLive{step: step} }

// end ends the step: its result carries its figures from now on.
func (s *stepLive) end() { *s = stepLive{} }

// take keeps p's figures when p reports the running step.
func (s *stepLive) take(p activities.LiveProgress) bool {
	if s.step == "" || p.Step != s.step {
		return false
	}
	s.counts = p.Counts
	return true
}

// onLive takes a report of the project's running activity, refreshes the
// figures and passes them on to the connection.
func (r *projectRun) onLive(ctx workflow.Context, p activities.LiveProgress) {
	if r.live.take(p) {
		r.refresh(ctx)
		r.report(ctx)
	}
}

// report passes the project's figures on to its connection workflow (its
// parent), which shows its running projects' figures.
func (r *projectRun) report(ctx workflow.Context) {
	parent := workflow.GetInfo(ctx).ParentWorkflowExecution
	if parent == nil || parent.ID != ConnectionWorkflowID(r.in.Connection.ConnectionID) {
		return
	}
	p := r.progress()
	workflow.SignalExternalWorkflow(ctx, parent.ID, "", LiveProgressSignal,
		activities.LiveProgress{Project: p.ProjectSlug, Phase: p.Phase, Counts: p.Counts})
}

// onLive takes a running project's figures, or those of the connection's own
// running activity, and refreshes the figures.
func (r *connectionRun) onLive(ctx workflow.Context, p activities.LiveProgress) {
	switch {
	case p.Project != "":
		if !r.running(p.Project) {
			return
		}
		if r.projects == nil {
			r.projects = map[string]activities.LiveProgress{}
		}
		r.projects[p.Project] = p
	case !r.live.take(p):
		return
	}
	r.refresh(ctx)
}

// running tells whether slug's child is running.
func (r *connectionRun) running(slug string) bool {
	for _, s := range r.st.InFlight {
		if s == slug {
			return true
		}
	}
	return false
}
