package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/store"
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
//  1. StartProject plans where paging stops: on a first sync at since (or the
//     end of the history), on an incremental one at the stored watermark minus
//     the overlap; it also reads the project's metadata, at most daily;
//  2. SyncPipelinePage activities, each covering up to PagesPerActivity pages
//     of pipelines, newest first, write the pipelines, workflows and jobs and
//     return the next cursor and counts; a retry resumes mid-page from its
//     heartbeat;
//  3. RefreshProject polls again the open pipelines and workflows paging did not
//     reach, the pipelines inside the rerun window, and pipelines skipped earlier
//     for a server error;
//  4. CompleteProject stores the new watermark: only now, so a sync that fails
//     half-way is redone from the same point.
//
// It continues as new between page activities when the history grows long,
// carrying ProjectSyncState (plan, cursor, counts). It answers the progress
// query (ProjectProgress), shows its phase and figures as the Web UI's current
// details, and sets the registered CircleCI* search attributes.
func ProjectSync(ctx workflow.Context, in ProjectSyncInput) (ProjectSyncResult, error) {
	if workflow.GetVersion(ctx, ChangeOperations, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return projectSyncV1(ctx, in)
	}
	if err := in.Validate(); err != nil {
		return ProjectSyncResult{}, err
	}
	r := &projectRun{in: in, st: in.State}
	r.in.State = nil
	if r.st == nil {
		r.st = &ProjectSyncState{Phase: PhasePlan}
	}
	return r.run(ctx)
}

// projectRun is one run of ProjectSync.
type projectRun struct {
	in ProjectSyncInput
	st *ProjectSyncState
	sa *searchAttrs
}

// progress builds the progress query's answer.
func (r *projectRun) progress() ProjectProgress {
	return ProjectProgress{ConnectionID: r.in.Connection.ConnectionID, ProjectSlug: r.in.ProjectSlug,
		Phase: r.st.Phase, Incremental: r.st.Plan.Incremental, Counts: r.st.Counts, Restarts: r.st.Restarts,
		LastError: r.st.LastError, Runs: r.st.Runs + 1}
}

// setPhase records the phase, the search attributes and the current details.
func (r *projectRun) setPhase(ctx workflow.Context, phase string) {
	r.st.Phase = phase
	r.refresh(ctx)
}

// refresh upserts the search attributes that changed and sets the current
// details.
func (r *projectRun) refresh(ctx workflow.Context) {
	p := r.progress()
	r.sa.upsert(ctx, keyword(SearchAttrConnection, p.ConnectionID), keyword(SearchAttrOrg, r.in.Connection.OrgSlug),
		keyword(SearchAttrProject, p.ProjectSlug), keyword(SearchAttrPhase, p.Phase),
		integer(SearchAttrPipelines, p.Counts.Of(store.KindPipeline)))
	workflow.SetCurrentDetails(ctx, p.details())
}

// run runs the project's sync from where the state stands.
func (r *projectRun) run(ctx workflow.Context) (ProjectSyncResult, error) {
	in := r.in
	err := workflow.SetQueryHandlerWithOptions(ctx, ProgressQuery, func() (ProjectProgress, error) {
		return r.progress(), nil
	}, workflow.QueryHandlerOptions{Description: "The project's phase and figures (ProjectProgress)."})
	if err != nil {
		return ProjectSyncResult{}, fmt.Errorf("set the progress query handler: %w", err)
	}
	names := in.SearchAttributes
	if names == nil {
		names = lookUpSearchAttrs(ctx)
	}
	r.in.SearchAttributes = names
	r.sa = newSearchAttrs(names)
	res, err := r.sync(ctx)
	if err != nil && !workflow.IsContinueAsNewError(err) {
		r.setPhase(ctx, PhaseFailed)
	}
	return res, err
}

// sync plans, pages, refreshes and completes.
func (r *projectRun) sync(ctx workflow.Context) (ProjectSyncResult, error) {
	in, st := r.in, r.st
	slug := in.ProjectSlug
	if !st.Planned {
		r.setPhase(ctx, PhasePlan)
		err := workflow.ExecuteActivity(summarized(withShortActivity(ctx), "plan the sync of "+slug), a.StartProject,
			activities.StartProjectInput{
				Connection: in.Connection, ProjectSlug: slug, Since: in.Since, Overlap: in.Overlap.D(),
			}).Get(ctx, &st.Plan)
		if err != nil {
			noteError(ctx, &st.LastError, "plan", describe(err))
			return ProjectSyncResult{}, err
		}
		st.Planned = true
		st.Counts.Requests += st.Plan.Requests
		st.Counts.Written += st.Plan.Written
		st.Counts.Unchanged += st.Plan.Unchanged
	}

	pageCtx := withPageActivity(ctx)
	for activitiesThisRun := 0; !st.Paged; activitiesThisRun++ {
		// Every run pages at least once, so a sync always progresses.
		if activitiesThisRun > 0 && continueAsNewSuggested(ctx) {
			st.Runs++
			next := in
			next.State = st
			return ProjectSyncResult{}, workflow.NewContinueAsNewError(ctx, ProjectSyncName, next)
		}
		r.setPhase(ctx, PhasePages)
		first := st.Pages + 1
		var page activities.PageResult
		err := workflow.ExecuteActivity(
			summarized(pageCtx, fmt.Sprintf("pipelines of %s, up to %d pages from page %d", slug, PagesPerActivity, first)),
			a.SyncPipelinePage, activities.PageInput{
				Connection: in.Connection, ProjectSlug: slug, PageToken: st.PageToken, PageNumber: first,
				StopBefore: st.Plan.StopBefore, MaxPages: PagesPerActivity, Incremental: st.Plan.Incremental,
				Below: st.Lowest,
			}).Get(ctx, &page)
		if err != nil {
			if isErrorType(err, activities.ErrStalePageToken) && st.Restarts < MaxPagingRestarts {
				// Page again from the newest pipeline to the same stop: the writes
				// are idempotent, and nothing between is missed.
				noteError(ctx, &st.LastError, fmt.Sprintf("pages from %d", first), describe(err))
				st.Restarts++
				st.PageToken = ""
				st.Pages = 0
				st.Lowest = 0
				continue
			}
			noteError(ctx, &st.LastError, fmt.Sprintf("pages from %d", first), describe(err))
			return ProjectSyncResult{}, err
		}
		st.Pages += int(page.Counts.Pages)
		st.Counts.Add(page.Counts)
		noteError(ctx, &st.LastError, fmt.Sprintf("pages from %d (attempt %d)", first, page.Attempt), page.LastError)
		if page.Newest.After(st.Newest) {
			st.Newest = page.Newest
		}
		st.PageToken = page.NextPageToken
		st.Lowest = page.Lowest
		st.Paged = page.Done || page.NextPageToken == ""
	}

	r.setPhase(ctx, PhaseRefresh)
	refresh := activities.RefreshInput{
		Connection: in.Connection, ProjectSlug: slug, SyncedSince: st.Plan.StopBefore,
	}
	if in.RerunWindow > 0 && st.Plan.Incremental {
		refresh.RerunWindowStart = st.Plan.StartedAt.Add(-in.RerunWindow.D())
	}
	var refreshed activities.SyncCounts
	err := workflow.ExecuteActivity(summarized(pageCtx, "poll the open items of "+slug), a.RefreshProject, refresh).
		Get(ctx, &refreshed)
	if err != nil {
		noteError(ctx, &st.LastError, "refresh", describe(err))
		return ProjectSyncResult{}, err
	}
	st.Counts.Add(refreshed)

	watermark := st.Plan.Watermark
	if st.Newest.After(watermark) {
		watermark = st.Newest
	}
	err = workflow.ExecuteActivity(summarized(withShortActivity(ctx), "record the sync of "+slug), a.CompleteProject,
		activities.CompleteProjectInput{
			Connection: in.Connection, ProjectSlug: slug, Watermark: watermark, Counts: st.Counts,
		}).Get(ctx, nil)
	if err != nil {
		noteError(ctx, &st.LastError, "record", describe(err))
		return ProjectSyncResult{}, err
	}
	r.setPhase(ctx, PhaseDone)
	return ProjectSyncResult{ProjectSlug: slug, Incremental: st.Plan.Incremental, Watermark: watermark,
		Counts: st.Counts, Runs: st.Runs + 1, LastError: st.LastError}, nil
}
