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
	"github.com/circleci-sync/circleci-sync/store"
)

// ChangeOperations is the workflow.GetVersion change of the workflows' current
// shape: search attributes, user metadata, sync cycles with re-sync requests
// and continuous mode, several pipeline pages per activity. Version 1 is the
// current code; runs without the marker (started before) take the code in
// legacy.go.
const ChangeOperations = "operations"

// ConnectionSync syncs one CircleCI connection (registered as ConnectionSyncName,
// workflow ID ConnectionWorkflowID). Each sync cycle:
//
//  1. validates its input (non-retryable "invalid_input");
//  2. verifies the connection with CircleCI's diagnostic sequence (non-retryable
//     "invalid_credentials", "invalid_permissions", "no_resources",
//     "missing_credentials"), unless it was verified within a day;
//  3. discovers the projects (or takes the configured list) and records them;
//  4. runs one ProjectSync child per project, at most max_concurrent_projects at a
//     time; a failing project never stops the others, and its outcome says why;
//  5. resolves the users the projects reference, once each;
//  6. records the cycle's figures.
//
// A resync Update or signal (ResyncUpdate, ResyncSignal) asks for another cycle:
// requests that arrive during a cycle coalesce into one follow-up cycle, which
// starts when the cycle ends, in a new run (continue-as-new). With continuous
// set, the workflow waits interval (or a request) after each cycle and runs the
// next, forever. Otherwise it completes after its last cycle, even when some
// projects failed: the result lists each project's outcome (FailedProjects
// counts the failures).
//
// Within a cycle, when the history grows long, it stops starting children,
// waits for the running ones and continues as new, carrying
// ConnectionSyncState. It answers the progress query (ConnectionProgress),
// shows its phase and figures as the Web UI's current details, and sets the
// registered CircleCI* search attributes.
func ConnectionSync(ctx workflow.Context, in ConnectionSyncInput) (ConnectionSyncResult, error) {
	if workflow.GetVersion(ctx, ChangeOperations, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return connectionSyncV1(ctx, in)
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
	return r.run(ctx)
}

// connectionRun is one run of ConnectionSync: its input and the state it
// carries across continue-as-new.
type connectionRun struct {
	in      ConnectionSyncInput
	st      *ConnectionSyncState
	sa      *searchAttrs
	signals workflow.ReceiveChannel
	// nextCycleAt is when a continuous sync's next cycle starts (while waiting).
	nextCycleAt time.Time
}

// run registers the handlers, runs the cycle and what follows it: the result,
// or the next cycle in a new run.
func (r *connectionRun) run(ctx workflow.Context) (ConnectionSyncResult, error) {
	st := r.st
	err := workflow.SetQueryHandlerWithOptions(ctx, ProgressQuery, func() (ConnectionProgress, error) {
		return r.progress(), nil
	}, workflow.QueryHandlerOptions{Description: "The current cycle's phase, projects and figures (ConnectionProgress)."})
	if err != nil {
		return ConnectionSyncResult{}, fmt.Errorf("set the progress query handler: %w", err)
	}
	if r.signals, err = handleResyncs(ctx, st); err != nil {
		return ConnectionSyncResult{}, err
	}
	if st.SearchAttributes == nil {
		st.SearchAttributes = lookUpSearchAttrs(ctx)
	}
	r.sa = newSearchAttrs(st.SearchAttributes)
	r.setPhase(ctx, st.Phase)

	res, err := r.cycle(ctx)
	if workflow.IsContinueAsNewError(err) {
		return res, err
	}
	now := workflow.Now(ctx).UTC()
	drainResyncSignals(ctx, r.signals, st)
	if err != nil {
		r.setPhase(ctx, PhaseFailed)
		// A failed cycle ends the workflow, unless it is continuous or re-syncs
		// were asked meanwhile: then the next cycle runs (a bad input fails
		// every cycle alike).
		if (!r.in.Continuous && st.ResyncPending == 0) || isErrorType(err, activities.ErrInvalidInput) {
			return res, err
		}
		st.Previous = &CycleSummary{Cycle: st.Cycle, Error: describe(err), CompletedAt: now}
		workflow.GetLogger(ctx).Warn("sync cycle failed; the next one runs", "cycle", st.Cycle, "error", err)
	} else {
		st.Previous = &CycleSummary{Cycle: st.Cycle, FailedProjects: res.FailedProjects, Totals: res.Totals,
			CompletedAt: now}
		if st.ResyncPending == 0 && !r.in.Continuous {
			r.setPhase(ctx, PhaseDone)
			return res, nil
		}
	}
	if st.ResyncPending == 0 {
		interval := r.in.Interval.D()
		r.nextCycleAt = now.Add(interval)
		if err == nil {
			r.setPhase(ctx, PhaseWaiting)
		}
		_, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{Timeout: interval,
			TimerOptions: workflow.TimerOptions{Summary: fmt.Sprintf("next cycle in %s, or on a resync request", interval)}},
			func() bool { return st.ResyncPending > 0 })
		if err != nil {
			return res, err
		}
	}
	// The next cycle looks the search attributes up again: some may have been
	// registered since.
	return res, r.continueAsNew(ctx, &ConnectionSyncState{Phase: PhaseVerify, Cycle: st.Cycle + 1,
		Previous: st.Previous, LastResyncReason: st.LastResyncReason})
}

// continueAsNew continues the run as new with next as its state, once every
// handler has finished and the undelivered signals are in: next gets the
// requests still pending (a next cycle includes those of st).
func (r *connectionRun) continueAsNew(ctx workflow.Context, next *ConnectionSyncState) error {
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	drainResyncSignals(ctx, r.signals, r.st)
	if next.Cycle > r.st.Cycle {
		next.Included = r.st.ResyncPending
	} else {
		// The same cycle goes on: the requests for the next one go with it,
		// those drained just now included.
		next.ResyncPending = r.st.ResyncPending
	}
	next.LastResyncReason = r.st.LastResyncReason
	in := r.in
	in.State = next
	return workflow.NewContinueAsNewError(ctx, ConnectionSyncName, in)
}

// PhaseFailed is the CircleCISyncPhase of a ConnectionSync or ProjectSync that
// failed.
const PhaseFailed = "failed"

// setPhase records the phase, the search attributes and the current details.
func (r *connectionRun) setPhase(ctx workflow.Context, phase string) {
	r.st.Phase = phase
	r.refresh(ctx)
}

// refresh upserts the search attributes that changed and sets the current
// details.
func (r *connectionRun) refresh(ctx workflow.Context) {
	p := r.progress()
	r.sa.upsert(ctx, keyword(SearchAttrConnection, r.in.ConnectionID), keyword(SearchAttrOrg, r.in.OrgSlug),
		keyword(SearchAttrPhase, p.Phase), integer(SearchAttrPipelines, p.Totals.Of(store.KindPipeline)))
	workflow.SetCurrentDetails(ctx, p.details())
}

// begin marks the cycle as begun: from now on a re-sync request goes to the
// next cycle.
func (r *connectionRun) begin() { r.st.Begun = true }

// cycle runs the sync cycle from where the state stands.
func (r *connectionRun) cycle(ctx workflow.Context) (ConnectionSyncResult, error) {
	in, st := r.in, r.st
	conn := in.connection()
	short := withShortActivity(ctx)
	if !st.Verified {
		r.begin()
		r.setPhase(ctx, PhaseVerify)
		var report activities.VerifyReport
		err := workflow.ExecuteActivity(summarized(short, fmt.Sprintf("verify connection %s (%s)", in.ConnectionID, in.OrgSlug)),
			a.VerifyConnection, activities.VerifyInput{Connection: conn, Projects: in.Projects}).Get(ctx, &report)
		if err != nil {
			noteError(ctx, &st.LastError, "verify the connection", describe(err))
			return ConnectionSyncResult{}, err
		}
		st.Verified = true
		st.Requests += report.Requests
	}
	if !st.Discovered {
		r.begin()
		r.setPhase(ctx, PhaseDiscover)
		var found activities.DiscoverResult
		// Discovery pages through the org's pipelines and heartbeats per page.
		err := workflow.ExecuteActivity(summarized(withPageActivity(ctx), "discover the projects of "+in.OrgSlug),
			a.DiscoverProjects, activities.DiscoverInput{Connection: conn, Projects: in.Projects,
				FreshFor: in.RediscoverAfter.D()}).Get(ctx, &found)
		if err != nil {
			noteError(ctx, &st.LastError, "discover the projects", describe(err))
			return ConnectionSyncResult{}, err
		}
		st.Discovered = true
		st.Projects = found.Projects
		st.Requests += found.Requests
	}

	r.begin()
	r.setPhase(ctx, PhaseProjects)
	if err := r.runProjects(ctx); err != nil {
		return ConnectionSyncResult{}, err
	}
	if st.more() {
		// The history is long: every child of this run has finished; go on in a
		// new run with the rest.
		st.Runs++
		next := *st
		return ConnectionSyncResult{}, r.continueAsNew(ctx, &next)
	}

	r.setPhase(ctx, PhaseUsers)
	var users activities.ResolveUsersResult
	err := workflow.ExecuteActivity(summarized(withPageActivity(ctx), "resolve the users of connection "+in.ConnectionID),
		a.ResolveUsers, activities.ResolveUsersInput{
			Connection: conn, Projects: st.Projects, FreshFor: in.UsersFreshFor.D(),
		}).Get(ctx, &users)
	if err != nil {
		noteError(ctx, &st.LastError, "resolve the users", describe(err))
		return ConnectionSyncResult{}, err
	}
	st.Users = &users

	res := ConnectionSyncResult{ConnectionID: in.ConnectionID, Cycle: st.Cycle, Users: users, Runs: st.Runs + 1}
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
	err = workflow.ExecuteActivity(summarized(short, "record the cycle of connection "+in.ConnectionID),
		a.CompleteConnection, activities.CompleteConnectionInput{
			Connection: conn, Projects: st.Projects, Missing: missing, Counts: res.Totals,
			Failed: int64(res.FailedProjects),
		}).Get(ctx, nil)
	if err != nil {
		noteError(ctx, &st.LastError, "record the cycle", describe(err))
		return ConnectionSyncResult{}, err
	}
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
func (r *connectionRun) runProjects(ctx workflow.Context) error {
	in, st := r.in, r.st
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
				StaticSummary: fmt.Sprintf("CircleCI project %s (connection %s, cycle %d)", slug, in.ConnectionID, st.Cycle),
				StaticDetails: projectDetails(in, slug, st.Cycle),
			})
			child := ProjectSyncInput{
				Connection: in.connection(), ProjectSlug: slug, Since: since,
				Overlap: *in.Overlap, RerunWindow: *in.RerunWindow, SearchAttributes: st.SearchAttributes,
			}
			f := workflow.ExecuteChildWorkflow(cctx, ProjectSyncName, child)
			st.InFlight = append(st.InFlight, slug)
			running++
			pending++
			started++
			r.refresh(ctx)
			sel.AddFuture(f, func(f workflow.Future) {
				var res ProjectSyncResult
				err := f.Get(ctx, &res)
				running--
				st.InFlight = slices.DeleteFunc(st.InFlight, func(s string) bool { return s == slug })
				if childIDTaken(err) && tries[slug] < ChildIDTakenRetries {
					tries[slug]++
					pending++
					sel.AddFuture(workflow.NewTimerWithOptions(ctx, ChildIDTakenRetryDelay, workflow.TimerOptions{
						Summary: "start project " + slug + " again: its workflow ID is taken",
					}), func(workflow.Future) {
						st.Retry = append(st.Retry, slug)
					})
					return
				}
				o := projectOutcome(slug, id, res, err)
				if o.Status == ProjectFailed {
					noteError(ctx, &st.LastError, "project "+slug, o.ErrorType+": "+o.Error)
				} else if res.LastError != nil {
					st.LastError = res.LastError
				}
				st.Outcomes = append(st.Outcomes, o)
				r.refresh(ctx)
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

// projectDetails is a ProjectSync child's static details: Markdown for the Web
// UI.
func projectDetails(in ConnectionSyncInput, slug string, cycle int) string {
	since := in.Since
	if since == "" {
		since = "all history"
	}
	return fmt.Sprintf("Project **%s** of organisation **%s**, connection **%s** (%s), cycle %d.\n\n"+
		"- first sync from: %s\n- incremental overlap: %s, rerun window: %s\n- parent: `%s`\n",
		slug, in.OrgSlug, in.ConnectionID, in.BaseURL, cycle, since, in.Overlap.D(), in.RerunWindow.D(),
		ConnectionWorkflowID(in.ConnectionID))
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

// describe is describeFailure in one string, "type: message".
func describe(err error) string {
	typ, msg := describeFailure(err)
	return typ + ": " + msg
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
