package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/activities"
)

// MaxPagingRestarts bounds how many times a project's paging restarts from the
// first page after CircleCI refused a page token as stale.
const MaxPagingRestarts = 3

// isErrorType tells whether err holds an ApplicationError of type typ.
func isErrorType(err error, typ string) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.Type() == typ
}

// ProjectSync syncs one project of a connection (registered as ProjectSyncName,
// workflow ID ProjectWorkflowID), usually as ConnectionSync's child:
//
//  1. StartProject fetches and writes the project and plans where paging stops:
//     on a first sync at since (or the end of the history), on an incremental
//     one at the stored watermark minus the overlap;
//  2. one SyncPipelinePage activity per page of pipelines, newest first, writes
//     the page's pipelines, workflows and jobs and returns the next cursor and
//     counts; a retry resumes mid-page from its heartbeat;
//  3. RefreshProject polls again the open pipelines and workflows paging did not
//     reach, the pipelines inside the rerun window, and pipelines skipped earlier
//     for a server error;
//  4. CompleteProject stores the new watermark: only now, so a sync that fails
//     half-way is redone from the same point.
//
// It continues as new between pages when the history grows long, carrying
// ProjectSyncState (plan, cursor, counts).
func ProjectSync(ctx workflow.Context, in ProjectSyncInput) (ProjectSyncResult, error) {
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
