package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/activities"
)

// LiveProgressSignal carries an activities.LiveProgress: from a long activity
// to its workflow (workflows cannot read heartbeats) and, for a project's
// activity, to the connection workflow too (the worker sends both); from a
// project workflow to its connection when its phase or step changes. Each is a
// history event; the activities send at most one per
// activities.DefaultReportEvery slot (docs/design.md#live-progress).
const LiveProgressSignal = "live-progress"

// LiveReportsUpTo is the history length (events) from which the worker stops
// sending a connection workflow live reports, until its next run: past it each
// report would bring Temporal's continue-as-new suggestion closer, and with it
// the end of the run's fan-out, and while the run waits for long children
// they would grow its history towards Temporal's limit
// (docs/design.md#long-histories). The children's own reports go on.
const LiveReportsUpTo = 2500

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

// onLive takes a report of the project's running activity and refreshes the
// figures; the activity reports to the connection itself.
func (r *projectRun) onLive(ctx workflow.Context, p activities.LiveProgress) {
	if r.live.take(p) {
		r.refresh(ctx)
	}
}

// report tells the connection workflow (the parent) the project's phase, the
// step starting and the figures before it, when they changed since the last
// report: the connection adds the step's reports to those figures.
func (r *projectRun) report(ctx workflow.Context) {
	parent := workflow.GetInfo(ctx).ParentWorkflowExecution
	if parent == nil || parent.ID != ConnectionWorkflowID(r.in.Connection.ConnectionID) {
		return
	}
	p := activities.LiveProgress{Project: r.in.ProjectSlug, Phase: r.st.Phase, Step: r.live.step, Counts: r.progress().Counts}
	if r.reported != nil && r.reported.Phase == p.Phase && r.reported.Step == p.Step {
		return
	}
	r.reported = &p
	workflow.SignalExternalWorkflow(ctx, parent.ID, "", LiveProgressSignal, p)
}

// projectLive is what the connection knows of a running project: its phase,
// its figures before the step it announced (base), and that step's latest
// report, sent by the activity itself.
type projectLive struct {
	phase string
	base  activities.SyncCounts
	live  stepLive
	// early is a report of a step the project has not announced yet.
	early *activities.LiveProgress
}

// counts are the project's figures as last reported.
func (l *projectLive) counts() activities.SyncCounts {
	c := l.base
	c.Then(l.live.counts)
	return c
}

// take keeps a report: the project's own (phase set) announces its step; an
// activity's (no phase) carries the step's figures.
func (l *projectLive) take(p activities.LiveProgress) bool {
	if p.Phase != "" {
		early := l.early
		*l = projectLive{phase: p.Phase, base: p.Counts}
		l.live.start(p.Step)
		if early != nil {
			l.live.take(*early)
		}
		return true
	}
	if l.live.take(p) {
		return true
	}
	if p.Step != "" && p.Step != l.live.step {
		l.early = &p
	}
	return false
}

// onLive takes a running project's report, a batch of them, or one of the
// connection's own running activity, and refreshes the figures.
func (r *connectionRun) onLive(ctx workflow.Context, p activities.LiveProgress) {
	taken := false
	for _, b := range p.Batch {
		taken = r.take(b) || taken
	}
	if r.take(p) || taken {
		r.refresh(ctx)
	}
}

// take keeps a report of a running project or of the connection's own step.
func (r *connectionRun) take(p activities.LiveProgress) bool {
	if p.Project == "" {
		return r.live.take(p)
	}
	if !r.running(p.Project) {
		return false
	}
	if r.projects == nil {
		r.projects = map[string]*projectLive{}
	}
	l := r.projects[p.Project]
	if l == nil {
		l = &projectLive{}
		r.projects[p.Project] = l
	}
	return l.take(p)
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
