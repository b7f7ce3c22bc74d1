package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"
)

// carryOn tells whether the run stops here and continues as new, leaving its
// running children to the next run: Temporal suggests it, the run has started
// or seen end at least one project (so that runs cannot follow each other
// without progress), and nothing the run itself must see end (an inline
// project, the org list, a retry timer, a child's start) is pending. The
// fan-out then goes on at once in the next run instead of dwindling until the
// longest child ends.
func (r *connectionRun) carryOn(ctx workflow.Context, f *fanOut) bool {
	if f.err != nil || f.mustWait > 0 || f.running == 0 || f.started+f.ended == 0 || !continueAsNewSuggested(ctx) {
		return false
	}
	r.st.Carried = r.carried(f)
	return true
}

// carried lists the running children with their last announced figures.
func (r *connectionRun) carried(f *fanOut) []CarriedProject {
	out := make([]CarriedProject, 0, len(r.st.InFlight))
	for _, slug := range r.st.InFlight {
		c := CarriedProject{Slug: slug, WorkflowID: ProjectWorkflowID(r.in.ConnectionID, slug), RunID: f.runIDs[slug]}
		if i := slices.IndexFunc(f.carried, func(c CarriedProject) bool { return c.Slug == slug }); i >= 0 {
			c = f.carried[i]
		}
		if l := r.projects[slug]; l != nil {
			c.Phase, c.Step, c.Base = l.phase, l.live.step, l.base
		}
		out = append(out, c)
	}
	return out
}

// takeCarried counts the children the previous run left running as running
// projects, with their figures, and waits for them.
func (r *connectionRun) takeCarried(ctx workflow.Context, f *fanOut) {
	st := r.st
	f.carried, st.Carried = st.Carried, nil
	if len(f.carried) == 0 {
		return
	}
	if r.projects == nil {
		r.projects = map[string]*projectLive{}
	}
	for _, c := range f.carried {
		r.nowRunning(f, c.Slug)
		l := &projectLive{phase: c.Phase, base: c.Base}
		l.live.start(c.Step)
		r.projects[c.Slug] = l
	}
	r.refresh(ctx)
	r.waitCarried(ctx, f)
}

// waitCarried runs one WaitForProjects for the carried children still running
// and records those that ended, until none is left.
func (r *connectionRun) waitCarried(ctx workflow.Context, f *fanOut) {
	if len(f.carried) == 0 {
		return
	}
	actx := summarized(workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: WaitForProjectsUpTo + time.Minute,
		HeartbeatTimeout:    PageHeartbeatTimeout,
		RetryPolicy:         retryPolicy(),
		Priority:            workflow.GetActivityOptions(ctx).Priority,
	}), fmt.Sprintf("wait for %d projects an earlier run started", len(f.carried)))
	fut := workflow.ExecuteActivity(actx, WaitForProjectsName, WaitForProjectsInput{Projects: f.carried})
	f.waiting = true
	f.see(fut, func(fut workflow.Future) {
		f.waiting = false
		var ended []EndedProject
		if err := fut.Get(ctx, &ended); err != nil {
			if ctx.Err() != nil {
				r.cancelCarried(ctx, f)
				return
			}
			noteError(ctx, &r.st.LastError, "wait for the projects an earlier run started", describe(err))
		}
		for _, e := range ended {
			r.carriedEnded(ctx, f, e)
		}
		r.waitCarried(ctx, f)
	})
}

// adopt waits for the sync of slug that held its workflow ID through every
// retry: a ProjectSync of the same connection and project (started by an
// earlier run, or by a run of the connection that was terminated, or by a
// scheduled run beside this one), whose outcome becomes the project's.
func (r *connectionRun) adopt(ctx workflow.Context, f *fanOut, slug string) {
	f.carried = append(f.carried, CarriedProject{Slug: slug, WorkflowID: ProjectWorkflowID(r.in.ConnectionID, slug)})
	r.nowRunning(f, slug)
	r.refresh(ctx)
	if !f.waiting {
		r.waitCarried(ctx, f)
	}
}

// carriedEnded records how a carried child ended.
func (r *connectionRun) carriedEnded(ctx workflow.Context, f *fanOut, e EndedProject) {
	i := slices.IndexFunc(f.carried, func(c CarriedProject) bool { return c.Slug == e.ProjectSlug })
	if i < 0 {
		return
	}
	c := f.carried[i]
	f.carried = slices.Delete(f.carried, i, i+1)
	r.notRunning(f, c.Slug)
	o := projectOutcome(c.Slug, c.WorkflowID, e.Result, nil)
	if e.ErrorType != "" {
		o.Status, o.ErrorType, o.Error = ProjectFailed, e.ErrorType, e.Error
	}
	r.finished(ctx, o, e.Result.LastError)
}

// cancelCarried asks the carried children to stop when the connection is
// canceled (a child this run started is canceled with its context), and waits
// for the requests to be delivered.
func (r *connectionRun) cancelCarried(ctx workflow.Context, f *fanOut) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	asked := make([]workflow.Future, 0, len(f.carried))
	for _, c := range f.carried {
		asked = append(asked, workflow.RequestCancelExternalWorkflow(dctx, c.WorkflowID, ""))
	}
	for _, fut := range asked {
		_ = fut.Get(dctx, nil) // a child that has ended meanwhile needs no request
	}
}
