package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/activities"
)

// ConnectionSync syncs one CircleCI connection (registered as ConnectionSyncName,
// workflow ID ConnectionWorkflowID):
//
//  1. validates its input (non-retryable "invalid_input");
//  2. verifies the connection with CircleCI's diagnostic sequence (non-retryable
//     "invalid_credentials", "invalid_permissions", "no_resources",
//     "missing_credentials");
//  3. discovers the projects (or takes the configured list) and records them;
//  4. runs one ProjectSync child per project, at most max_concurrent_projects at a
//     time; a failing project never stops the others, and its outcome says why;
//  5. resolves the users the projects reference, once each;
//  6. records the run's figures.
//
// When the history grows long it stops starting children, waits for the running
// ones and continues as new, carrying ConnectionSyncState. It completes, even when
// some projects failed: the result lists each project's outcome
// (FailedProjects counts the failures).
func ConnectionSync(ctx workflow.Context, in ConnectionSyncInput) (ConnectionSyncResult, error) {
	if err := in.Validate(); err != nil {
		return ConnectionSyncResult{}, err
	}
	in = in.withDefaults()
	st := in.State
	if st == nil {
		st = &ConnectionSyncState{Phase: PhaseVerify}
	}
	in.State = nil
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (ConnectionSyncState, error) {
		return *st, nil
	}); err != nil {
		return ConnectionSyncResult{}, fmt.Errorf("set the progress query handler: %w", err)
	}
	conn := in.connection()
	short := withShortActivity(ctx)

	if !st.Verified {
		st.Phase = PhaseVerify
		var report activities.VerifyReport
		err := workflow.ExecuteActivity(short, a.VerifyConnection,
			activities.VerifyInput{Connection: conn, Projects: in.Projects}).Get(ctx, &report)
		if err != nil {
			return ConnectionSyncResult{}, err
		}
		st.Verified = true
		st.Requests += report.Requests
	}
	if !st.Discovered {
		st.Phase = PhaseDiscover
		var found activities.DiscoverResult
		// Discovery pages through the org's pipelines and heartbeats per page.
		err := workflow.ExecuteActivity(withPageActivity(ctx), a.DiscoverProjects,
			activities.DiscoverInput{Connection: conn, Projects: in.Projects}).Get(ctx, &found)
		if err != nil {
			return ConnectionSyncResult{}, err
		}
		st.Discovered = true
		st.Projects = found.Projects
		st.Requests += found.Requests
	}

	st.Phase = PhaseProjects
	if err := runProjects(ctx, in, st); err != nil {
		return ConnectionSyncResult{}, err
	}
	if st.more() {
		// The history is long: every child of this run has finished; go on in a
		// new run with the rest.
		st.Runs++
		next := in
		next.State = st
		return ConnectionSyncResult{}, workflow.NewContinueAsNewError(ctx, ConnectionSyncName, next)
	}

	st.Phase = PhaseUsers
	var users activities.ResolveUsersResult
	err := workflow.ExecuteActivity(withPageActivity(ctx), a.ResolveUsers, activities.ResolveUsersInput{
		Connection: conn, Projects: st.Projects, FreshFor: in.UsersFreshFor.D(),
	}).Get(ctx, &users)
	if err != nil {
		return ConnectionSyncResult{}, err
	}

	res := ConnectionSyncResult{ConnectionID: in.ConnectionID, Users: users, Runs: st.Runs + 1}
	res.Projects = slices.Clone(st.Outcomes)
	slices.SortFunc(res.Projects, func(x, y ProjectOutcome) int { return strings.Compare(x.ProjectSlug, y.ProjectSlug) })
	for _, o := range res.Projects {
		res.Totals.Add(o.Counts)
		if o.Status == ProjectFailed {
			res.FailedProjects++
		}
	}
	res.Totals.Add(users.Counts)
	res.Totals.Requests += st.Requests

	// A project found missing is dropped from the connection's record, so a
	// deleted or renamed project stops failing every later sync.
	var missing []string
	for _, o := range res.Projects {
		if o.ErrorType == activities.ErrProjectNotFound {
			missing = append(missing, o.ProjectSlug)
		}
	}
	err = workflow.ExecuteActivity(short, a.CompleteConnection, activities.CompleteConnectionInput{
		Connection: conn, Projects: st.Projects, Missing: missing, Counts: res.Totals,
		Failed: int64(res.FailedProjects),
	}).Get(ctx, nil)
	if err != nil {
		return ConnectionSyncResult{}, err
	}
	st.Phase = PhaseDone
	return res, nil
}

// Retrying a project whose child workflow ID is taken (a sync of the project still
// running: started by hand, or being terminated with a replaced connection sync).
const (
	// ChildIDTakenRetries is how many times a project is started again.
	ChildIDTakenRetries = 5
	// ChildIDTakenRetryDelay is the wait before each new start.
	ChildIDTakenRetryDelay = 10 * time.Second
)

// runProjects starts the ProjectSync children (st.Retry first, then from st.Next
// on), keeping at most in.MaxConcurrentProjects running, and records each outcome
// in st. A project whose child ID is taken is started again after
// ChildIDTakenRetryDelay, up to ChildIDTakenRetries times, then reported as
// "already_running". runProjects returns when every project has finished, or
// earlier, with projects left (st.more()) and nothing running, when the history
// is long enough to continue as new.
func runProjects(ctx workflow.Context, in ConnectionSyncInput, st *ConnectionSyncState) error {
	var since time.Time
	if in.Since != "" {
		since, _ = parseSince(in.Since) // Validate checked it
	}
	sel := workflow.NewSelector(ctx)
	// running counts children in flight; pending, the futures sel waits on
	// (children and retry timers).
	running, pending, started := 0, 0, 0
	tries := map[string]int{} // looked up only, never ranged over
	for {
		if st.more() && running < in.MaxConcurrentProjects && !(started > 0 && continueAsNewSuggested(ctx)) {
			// Every run starts at least one child, so a sync always progresses.
			slug := st.next()
			id := ProjectWorkflowID(in.ConnectionID, slug)
			cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
				WorkflowID:    id,
				StaticSummary: "CircleCI project " + slug + " (connection " + in.ConnectionID + ")",
			})
			child := ProjectSyncInput{
				Connection: in.connection(), ProjectSlug: slug, Since: since,
				Overlap: *in.Overlap, RerunWindow: *in.RerunWindow,
			}
			f := workflow.ExecuteChildWorkflow(cctx, ProjectSyncName, child)
			st.InFlight = append(st.InFlight, slug)
			running++
			pending++
			started++
			sel.AddFuture(f, func(f workflow.Future) {
				var r ProjectSyncResult
				err := f.Get(ctx, &r)
				running--
				st.InFlight = slices.DeleteFunc(st.InFlight, func(s string) bool { return s == slug })
				if childIDTaken(err) && tries[slug] < ChildIDTakenRetries {
					tries[slug]++
					pending++
					sel.AddFuture(workflow.NewTimer(ctx, ChildIDTakenRetryDelay), func(workflow.Future) {
						st.Retry = append(st.Retry, slug)
					})
					return
				}
				st.Outcomes = append(st.Outcomes, projectOutcome(slug, id, r, err))
			})
			continue
		}
		if pending == 0 {
			return ctx.Err()
		}
		sel.Select(ctx)
		pending--
	}
}

// more tells whether projects are left to start.
func (st *ConnectionSyncState) more() bool {
	return len(st.Retry) > 0 || st.Next < len(st.Projects)
}

// next returns the next project to start: a retry first, else the next in order.
func (st *ConnectionSyncState) next() string {
	if len(st.Retry) > 0 {
		slug := st.Retry[0]
		st.Retry = st.Retry[1:]
		return slug
	}
	st.Next++
	return st.Projects[st.Next-1]
}

// childIDTaken tells whether a child could not start because its workflow ID is
// in use (the server's ChildWorkflowExecutionAlreadyStartedError; the test
// environment's WorkflowExecutionAlreadyStarted).
func childIDTaken(err error) bool {
	var started *temporal.ChildWorkflowExecutionAlreadyStartedError
	return errors.As(err, &started) || temporal.IsWorkflowExecutionAlreadyStartedError(err)
}

// projectOutcome describes how a project's child ended.
func projectOutcome(slug, id string, r ProjectSyncResult, err error) ProjectOutcome {
	o := ProjectOutcome{ProjectSlug: slug, WorkflowID: id, Status: ProjectCompleted, Incremental: r.Incremental,
		Counts: r.Counts}
	if err == nil {
		return o
	}
	o.Status = ProjectFailed
	o.ErrorType, o.Error = describeFailure(err)
	return o
}

// describeFailure returns the type and message of the innermost cause a user can
// act on: the ApplicationError an activity or the child returned, or how the child
// ended (canceled, terminated, timed out, already running).
func describeFailure(err error) (string, string) {
	var app *temporal.ApplicationError
	var canceled *temporal.CanceledError
	var terminated *temporal.TerminatedError
	var timeout *temporal.TimeoutError
	switch {
	case childIDTaken(err):
		return "already_running", "a sync of this project is already running (its workflow ID is taken); " +
			"it was tried again and is left to that sync"
	case errors.As(err, &app):
		return app.Type(), app.Message()
	case errors.As(err, &canceled):
		return "canceled", canceled.Error()
	case errors.As(err, &terminated):
		return "terminated", terminated.Error()
	case errors.As(err, &timeout):
		return "timeout", timeout.Error()
	}
	return "workflow_failed", err.Error()
}
