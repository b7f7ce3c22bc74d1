package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/activities"
)

// A project whose child workflow ID is taken is started again that many times,
// that far apart; then the cycle waits for the sync holding the ID (adopt).
const (
	ChildIDTakenRetries    = 5
	ChildIDTakenRetryDelay = 10 * time.Second
)

// fanOut is the state of runProjects: the children, activities and retry
// timers sel waits on.
type fanOut struct {
	sel              workflow.Selector
	running, pending int
	started, ended   int // projects this run started, and saw end
	// mustWait counts what the run must see end before it continues as new
	// (carryOn): inline projects, the org list, retry timers, children starting.
	mustWait int
	tries    map[string]int    // looked up only, never ranged over
	runIDs   map[string]string // a started child's first run, by slug
	carried  []CarriedProject  // the earlier runs' children still running, and adopted ones
	waiting  bool              // a WaitForProjects is running
	err      error             // the org pipeline list's failure (discoverRest)
}

// runProjects runs the projects, at most MaxConcurrentProjects at a time (the
// children earlier runs left running included), until all have finished or,
// when continue-as-new is suggested, the run leaves the running children to the
// next (carryOn).
func (r *connectionRun) runProjects(ctx workflow.Context) error {
	f := &fanOut{sel: workflow.NewSelector(ctx), tries: map[string]int{}, runIDs: map[string]string{}}
	r.takeCarried(ctx, f)
	if r.st.DiscoverRest {
		r.discoverRest(ctx, f)
	}
	inline := r.inlineOn()
	for {
		// Every run starts at least one project, so a sync always progresses.
		if r.st.more() && f.err == nil && f.running < r.in.MaxConcurrentProjects &&
			!(f.started > 0 && continueAsNewSuggested(ctx)) {
			if r.st.windowUsedUp() {
				if err := r.nextWindow(ctx); err != nil {
					return err
				}
			}
			if slug := r.st.next(); inline {
				r.startInline(ctx, f, slug)
			} else {
				r.startProject(ctx, f, slug, nil)
			}
			continue
		}
		if f.pending == 0 {
			if f.err != nil {
				return f.err
			}
			return ctx.Err()
		}
		if r.carryOn(ctx, f) {
			return nil
		}
		f.sel.Select(ctx)
		f.pending--
	}
}

// startProject starts the child of slug (going on from resume when set) and
// registers what its end does.
func (r *connectionRun) startProject(ctx workflow.Context, f *fanOut, slug string, resume *activities.ProjectCycleResult) {
	in, st := r.in, r.st
	id := ProjectWorkflowID(in.ConnectionID, slug)
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:    id,
		StaticSummary: fmt.Sprintf("CircleCI project %s (connection %s, cycle %d)", slug, in.ConnectionID, st.Cycle),
		StaticDetails: projectDetails(in, slug, st.Cycle),
		Priority:      childPriority(ctx, st.FirstSync),
		// The child outlives a run that continues as new; the next waits for it.
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
	})
	child := r.projectInput(slug)
	child.Resume = resume
	fut := workflow.ExecuteChildWorkflow(cctx, ProjectSyncName, child)
	r.whenStarted(ctx, f, slug, fut)
	r.track(ctx, f, slug, fut, false, func(fut workflow.Future) {
		var res ProjectSyncResult
		err := fut.Get(ctx, &res)
		if childIDTaken(err) && f.tries[slug] < ChildIDTakenRetries {
			r.retryLater(ctx, f, slug)
			return
		}
		if childIDTaken(err) {
			r.adopt(ctx, f, slug)
			return
		}
		r.finished(ctx, projectOutcome(slug, id, res, err), res.LastError)
	})
}

// whenStarted notes the first run of slug's child once it has started (a run
// that continues as new carries it).
func (r *connectionRun) whenStarted(ctx workflow.Context, f *fanOut, slug string, fut workflow.ChildWorkflowFuture) {
	f.mustSee(fut.GetChildWorkflowExecution(), func(started workflow.Future) {
		var run workflow.Execution
		if started.Get(ctx, &run) == nil {
			f.runIDs[slug] = run.RunID
		}
	})
}

// track counts slug's project (a child or an inline activity) as running until
// fut is ready, then hands fut to end; must: the run must see it end before it
// continues as new (an inline project; a child can be carried).
func (r *connectionRun) track(ctx workflow.Context, f *fanOut, slug string, fut workflow.Future, must bool,
	end func(workflow.Future)) {
	r.nowRunning(f, slug)
	f.started++
	r.refresh(ctx)
	see := f.see
	if must {
		see = f.mustSee
	}
	see(fut, func(fut workflow.Future) {
		r.notRunning(f, slug)
		end(fut)
	})
}

// nowRunning counts slug's project as running.
func (r *connectionRun) nowRunning(f *fanOut, slug string) {
	r.st.InFlight = append(r.st.InFlight, slug)
	f.running++
}

// notRunning counts slug's project as ended and forgets its figures.
func (r *connectionRun) notRunning(f *fanOut, slug string) {
	f.running--
	f.ended++
	r.st.InFlight = slices.DeleteFunc(r.st.InFlight, func(s string) bool { return s == slug })
	delete(r.projects, slug)
	delete(f.runIDs, slug)
}

// see waits for fut on sel, then runs done.
func (f *fanOut) see(fut workflow.Future, done func(workflow.Future)) {
	f.pending++
	f.sel.AddFuture(fut, done)
}

// mustSee is see for something the run must see end before it continues as
// new (carryOn).
func (f *fanOut) mustSee(fut workflow.Future, done func(workflow.Future)) {
	f.mustWait++
	f.see(fut, func(fut workflow.Future) {
		f.mustWait--
		done(fut)
	})
}

// projectInput is the ProjectSync input of slug.
func (r *connectionRun) projectInput(slug string) ProjectSyncInput {
	in := r.in
	return ProjectSyncInput{Connection: in.connection(), ProjectSlug: slug, Since: in.since(),
		Overlap: *in.Overlap, RerunWindow: *in.RerunWindow, RepairEvery: in.RepairEvery,
		SearchAttributes: r.st.SearchAttributes, Extras: in.extras()}
}

// retryLater starts slug again after ChildIDTakenRetryDelay.
func (r *connectionRun) retryLater(ctx workflow.Context, f *fanOut, slug string) {
	f.tries[slug]++
	timer := workflow.NewTimerWithOptions(ctx, ChildIDTakenRetryDelay, workflow.TimerOptions{
		Summary: "start project " + slug + " again: its workflow ID is taken",
	})
	f.mustSee(timer, func(workflow.Future) { r.st.Retry = append(r.st.Retry, slug) })
}

// finished records a project's outcome and its last error.
func (r *connectionRun) finished(ctx workflow.Context, o ProjectOutcome, last *ErrorNote) {
	if o.Status == ProjectFailed {
		noteError(ctx, &r.st.LastError, "project "+o.ProjectSlug, o.ErrorType+": "+o.Error)
	} else if last != nil {
		r.st.LastError = last
	}
	r.st.record(o)
	r.refresh(ctx)
}

// projectDetails is a child's StaticDetails (Markdown).
func projectDetails(in ConnectionSyncInput, slug string, cycle int) string {
	since := in.Since
	if since == "" {
		since = "all history"
	}
	return fmt.Sprintf("Project **%s** of organisation **%s**, connection **%s** (%s), cycle %d.\n\n"+
		"- first sync from: %s\n- incremental overlap: %s, rerun window: %s\n- parent: `%s`\n\n"+
		"Progress: `temporal workflow query --workflow-id %s --name %s`; the connection's: `starter watch -connection %s`.\n",
		slug, in.OrgSlug, in.ConnectionID, in.BaseURL, cycle, since, *in.Overlap, *in.RerunWindow,
		ConnectionWorkflowID(in.ConnectionID), ProjectWorkflowID(in.ConnectionID, slug), ProgressQuery, in.ConnectionID)
}

// since is the input's since as a time (zero when unset; Validate checked it).
func (in ConnectionSyncInput) since() time.Time {
	t, _ := parseSince(in.Since)
	return t
}

// childIDTaken tells whether a child could not start: its workflow ID is in use.
func childIDTaken(err error) bool {
	var started *temporal.ChildWorkflowExecutionAlreadyStartedError
	return errors.As(err, &started) || temporal.IsWorkflowExecutionAlreadyStartedError(err)
}

// projectOutcome describes how a project's child ended.
func projectOutcome(slug, id string, r ProjectSyncResult, err error) ProjectOutcome {
	o := ProjectOutcome{ProjectSlug: slug, WorkflowID: id, Status: ProjectCompleted, Incremental: r.Incremental,
		Counts: r.Counts}
	if err != nil {
		o.Status = ProjectFailed
		o.ErrorType, o.Error = describeFailure(err)
	}
	return o
}
