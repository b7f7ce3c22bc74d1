package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/activities"
)

// This file keeps the workflows as they were before the change
// ChangeOperations (search attributes, user metadata, cycles and re-syncs,
// several pages per activity): a run started before that change has no version
// marker, and replays, and goes on, through this code. Runs started since take
// the current path (connection.go, project.go). Delete this file once no run
// without the marker is left, that is once every such run has closed and its
// history is past retention (`temporal workflow list --query
// 'WorkflowType="ConnectionSync" AND ExecutionStatus="Running"'`): then make
// the GetVersion calls require version 1.

// connectionSyncV1 is ConnectionSync before ChangeOperations.
func connectionSyncV1(ctx workflow.Context, in ConnectionSyncInput) (ConnectionSyncResult, error) {
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
	if err := runProjectsV1(ctx, in, st); err != nil {
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

// runProjectsV1 is runProjects before ChangeOperations.
func runProjectsV1(ctx workflow.Context, in ConnectionSyncInput, st *ConnectionSyncState) error {
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

// projectSyncV1 is ProjectSync before ChangeOperations.
func projectSyncV1(ctx workflow.Context, in ProjectSyncInput) (ProjectSyncResult, error) {
	if err := in.Validate(); err != nil {
		return ProjectSyncResult{}, err
	}
	st := in.State
	if st == nil {
		st = &ProjectSyncState{Phase: PhasePlan}
	}
	in.State = nil
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (ProjectSyncState, error) {
		return *st, nil
	}); err != nil {
		return ProjectSyncResult{}, fmt.Errorf("set the progress query handler: %w", err)
	}

	if !st.Planned {
		st.Phase = PhasePlan
		err := workflow.ExecuteActivity(withShortActivity(ctx), a.StartProject, activities.StartProjectInput{
			Connection: in.Connection, ProjectSlug: in.ProjectSlug, Since: in.Since, Overlap: in.Overlap.D(),
		}).Get(ctx, &st.Plan)
		if err != nil {
			return ProjectSyncResult{}, err
		}
		st.Planned = true
		st.Counts.Requests += st.Plan.Requests
		st.Counts.Written += st.Plan.Written
		st.Counts.Unchanged += st.Plan.Unchanged
	}

	pageCtx := withPageActivity(ctx)
	for pagesThisRun := 0; !st.Paged; pagesThisRun++ {
		st.Phase = PhasePages
		// Every run pages at least once, so a sync always progresses.
		if pagesThisRun > 0 && continueAsNewSuggested(ctx) {
			st.Runs++
			next := in
			next.State = st
			return ProjectSyncResult{}, workflow.NewContinueAsNewError(ctx, ProjectSyncName, next)
		}
		var page activities.PageResult
		err := workflow.ExecuteActivity(pageCtx, a.SyncPipelinePage, activities.PageInput{
			Connection: in.Connection, ProjectSlug: in.ProjectSlug, PageToken: st.PageToken,
			PageNumber: st.Pages + 1, StopBefore: st.Plan.StopBefore,
		}).Get(ctx, &page)
		if err != nil {
			if isErrorType(err, activities.ErrStalePageToken) && st.PageToken != "" && st.Restarts < MaxPagingRestarts {
				// Page again from the newest pipeline to the same stop: the writes
				// are idempotent, and nothing between is missed.
				st.Restarts++
				st.PageToken = ""
				continue
			}
			return ProjectSyncResult{}, err
		}
		st.Pages++
		st.Counts.Add(page.Counts)
		if page.Newest.After(st.Newest) {
			st.Newest = page.Newest
		}
		st.PageToken = page.NextPageToken
		st.Paged = page.Done || page.NextPageToken == ""
	}

	st.Phase = PhaseRefresh
	refresh := activities.RefreshInput{
		Connection: in.Connection, ProjectSlug: in.ProjectSlug, SyncedSince: st.Plan.StopBefore,
	}
	if in.RerunWindow > 0 && st.Plan.Incremental {
		refresh.RerunWindowStart = st.Plan.StartedAt.Add(-in.RerunWindow.D())
	}
	var refreshed activities.SyncCounts
	if err := workflow.ExecuteActivity(pageCtx, a.RefreshProject, refresh).Get(ctx, &refreshed); err != nil {
		return ProjectSyncResult{}, err
	}
	st.Counts.Add(refreshed)

	watermark := st.Plan.Watermark
	if st.Newest.After(watermark) {
		watermark = st.Newest
	}
	err := workflow.ExecuteActivity(withShortActivity(ctx), a.CompleteProject, activities.CompleteProjectInput{
		Connection: in.Connection, ProjectSlug: in.ProjectSlug, Watermark: watermark, Counts: st.Counts,
	}).Get(ctx, nil)
	if err != nil {
		return ProjectSyncResult{}, err
	}
	st.Phase = PhaseDone
	return ProjectSyncResult{ProjectSlug: in.ProjectSlug, Incremental: st.Plan.Incremental, Watermark: watermark,
		Counts: st.Counts, Runs: st.Runs + 1}, nil
}
