package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/store"
)

// MaxPagingRestarts bounds paging restarts after a stale page token.
const MaxPagingRestarts = 3

// ProjectSync syncs one project: plan, pipeline pages (continuing as new when
// the history grows long), poll what can still change, store the watermark.
func ProjectSync(ctx workflow.Context, in ProjectSyncInput) (ProjectSyncResult, error) {
	if err := refuseExternalState(ctx, in.State != nil); err != nil {
		return ProjectSyncResult{}, err
	}
	if err := in.Validate(); err != nil {
		return ProjectSyncResult{}, err
	}
	r := &projectRun{in: in, st: in.State}
	r.in.State = nil
	if r.st == nil {
		r.st = &ProjectSyncState{Phase: PhasePlan}
	}
	return r.run(prioritized(ctx, in.Connection.ConnectionID))
}

// projectRun is one run of ProjectSync.
type projectRun struct {
	in ProjectSyncInput
	st *ProjectSyncState
	sa *searchAttrs
	// live holds the running activity's reported figures.
	live stepLive
	// reported is the last report to the connection (report).
	reported *activities.LiveProgress
}

// run registers the progress query, then syncs; a failure shows as the phase.
func (r *projectRun) run(ctx workflow.Context) (ProjectSyncResult, error) {
	err := workflow.SetQueryHandlerWithOptions(ctx, ProgressQuery, func() (ProjectProgress, error) {
		return r.progress(), nil
	}, workflow.QueryHandlerOptions{Description: "The project's phase and figures (ProjectProgress)."})
	if err != nil {
		return ProjectSyncResult{}, fmt.Errorf("set the progress query handler: %w", err)
	}
	receiveLive(ctx, r.onLive)
	if r.in.SearchAttributes == nil {
		r.in.SearchAttributes = lookUpSearchAttrs(ctx)
	}
	r.sa = newSearchAttrs(ctx, r.in.SearchAttributes)
	res, err := r.sync(ctx)
	if err != nil && !workflow.IsContinueAsNewError(err) {
		r.setPhase(ctx, PhaseFailed)
	}
	return res, err
}

// sync plans, pages, refreshes and completes, from where the state stands.
func (r *projectRun) sync(ctx workflow.Context) (ProjectSyncResult, error) {
	st := r.st
	switch {
	case st.Planned:
	case r.in.Resume != nil:
		r.goOnFrom(*r.in.Resume)
		r.in.Resume = nil
	default:
		if err := r.start(ctx); err != nil {
			return ProjectSyncResult{}, err
		}
	}
	ctx = planned(ctx, r.in.Connection.ConnectionID, st.Plan.Incremental)
	for activitiesThisRun := 0; !st.Paged; activitiesThisRun++ {
		// Every run pages at least once, so a sync always progresses.
		if activitiesThisRun > 0 && continueAsNewSuggested(ctx) {
			st.Runs++
			next := r.in
			next.State = st
			return ProjectSyncResult{}, workflow.NewContinueAsNewError(ctx, ProjectSyncName, next)
		}
		if err := r.pages(ctx); err != nil {
			return ProjectSyncResult{}, err
		}
	}
	// A run continued as new among the extras has refreshed and repaired.
	if !st.Refreshed && !st.ExtrasStarted {
		if err := r.refreshOpen(ctx); err != nil {
			return ProjectSyncResult{}, err
		}
	}
	if st.Plan.Repair.Due && !st.ExtrasStarted {
		r.repair(ctx)
	}
	if r.in.Extras.Any() {
		if res, stop, err := r.extrasAll(ctx); stop {
			return res, err
		}
	}
	watermark := st.Plan.Watermark
	if st.Newest.After(watermark) {
		watermark = st.Newest
	}
	if !st.Recorded {
		if err := r.complete(ctx, watermark); err != nil {
			return ProjectSyncResult{}, err
		}
	}
	r.setPhase(ctx, PhaseDone)
	return ProjectSyncResult{ProjectSlug: r.in.ProjectSlug, Incremental: st.Plan.Incremental, Watermark: watermark,
		Counts: st.Counts, Runs: st.Runs + 1, LastError: st.LastError}, nil
}

// exec runs an activity, noting a failure as the last error.
func (r *projectRun) exec(ctx workflow.Context, where, summary string, fn, arg, result any) error {
	err := workflow.ExecuteActivity(summarized(ctx, summary), fn, arg).Get(ctx, result)
	if err != nil {
		noteError(ctx, &r.st.LastError, where, describe(err))
	}
	return err
}

// plan asks where paging stops (and reads the project's metadata, at most daily).
func (r *projectRun) plan(ctx workflow.Context) error {
	st := r.st
	r.setPhase(ctx, PhasePlan)
	err := r.exec(withShortActivity(ctx), "plan", "plan the sync of "+r.in.ProjectSlug, a.StartProject,
		activities.StartProjectInput{Connection: r.in.Connection, ProjectSlug: r.in.ProjectSlug, Since: r.in.Since,
			Overlap: r.in.Overlap, Repair: r.in.repairOn(), RepairEvery: Duration(r.in.repairEvery())}, &st.Plan)
	if err == nil {
		st.Planned = true
		st.Counts.Requests += st.Plan.Requests
		st.Counts.Written += st.Plan.Written
		st.Counts.Unchanged += st.Plan.Unchanged
	}
	return err
}

// pages runs one page activity; a stale page token restarts paging from the
// newest pipeline (the writes are idempotent).
func (r *projectRun) pages(ctx workflow.Context) error {
	st := r.st
	first := st.Pages + 1
	where := fmt.Sprintf("pages from %d", first)
	var page activities.PageResult
	r.live.start(activities.PagesStep(first))
	defer r.live.end()
	r.setPhase(ctx, PhasePages)
	err := workflow.ExecuteActivity(summarized(withPageActivity(ctx),
		fmt.Sprintf("pipelines of %s, up to %d pages from page %d", r.in.ProjectSlug, PagesPerActivity, first)),
		a.SyncPipelinePage, activities.PageInput{Connection: r.in.Connection, ProjectSlug: r.in.ProjectSlug,
			PageToken: st.PageToken, PageNumber: first, StopBefore: st.Plan.StopBefore, MaxPages: PagesPerActivity,
			Incremental: st.Plan.Incremental, Below: st.Lowest}).Get(ctx, &page)
	if err != nil {
		noteError(ctx, &st.LastError, where, describe(err))
		if !isErrorType(err, activities.ErrStalePageToken) || st.Restarts >= MaxPagingRestarts {
			return err
		}
		st.Restarts++
		st.PageToken, st.Pages, st.Lowest = "", 0, 0
		return nil
	}
	st.Pages += int(page.Counts.Pages)
	st.Counts.Then(page.Counts)
	noteError(ctx, &st.LastError, fmt.Sprintf("%s (attempt %d)", where, page.Attempt), page.LastError)
	if page.Newest.After(st.Newest) {
		st.Newest = page.Newest
	}
	st.PageToken, st.Lowest = page.NextPageToken, page.Lowest
	st.Paged = page.Done || page.NextPageToken == ""
	return nil
}

// refreshOpen polls the open items and the rerun window again.
func (r *projectRun) refreshOpen(ctx workflow.Context) error {
	st := r.st
	in := activities.RefreshInput{Connection: r.in.Connection, ProjectSlug: r.in.ProjectSlug,
		SyncedSince: st.Plan.StopBefore}
	if r.in.RerunWindow > 0 && st.Plan.Incremental {
		in.RerunWindowStart = st.Plan.StartedAt.Add(-r.in.RerunWindow.D())
	}
	var refreshed activities.SyncCounts
	r.live.start(activities.StepRefresh)
	defer r.live.end()
	r.setPhase(ctx, PhaseRefresh)
	err := r.exec(withPageActivity(ctx), "refresh", "poll the open items of "+r.in.ProjectSlug, a.RefreshProject,
		in, &refreshed)
	st.Counts.Then(refreshed)
	return err
}

// complete stores the watermark: a sync failing before is redone from the same
// point. A first sync's start is the repair passes' starting point.
func (r *projectRun) complete(ctx workflow.Context, watermark time.Time) error {
	in := activities.CompleteProjectInput{Connection: r.in.Connection, ProjectSlug: r.in.ProjectSlug,
		Watermark: watermark, Counts: r.st.Counts}
	if r.in.repairOn() && !r.st.Plan.Incremental {
		in.RepairedAt = r.st.Plan.StartedAt
	}
	return r.exec(withShortActivity(ctx), "record", "record the sync of "+r.in.ProjectSlug, a.CompleteProject, in, nil)
}

// progress builds the progress query's answer: the figures include those the
// running activity reported.
func (r *projectRun) progress() ProjectProgress {
	p := ProjectProgress{ConnectionID: r.in.Connection.ConnectionID, ProjectSlug: r.in.ProjectSlug,
		Phase: r.st.Phase, Incremental: r.st.Plan.Incremental, Counts: r.st.Counts, Restarts: r.st.Restarts,
		LastError: r.st.LastError, Runs: r.st.Runs + 1}
	p.Counts.Then(r.live.counts)
	return p
}

// setPhase records the phase, refreshes the figures and tells the connection
// of a new phase or step (but the last phase): a step's live.start comes first.
func (r *projectRun) setPhase(ctx workflow.Context, phase string) {
	r.st.Phase = phase
	r.refresh(ctx)
	if phase != PhaseDone && phase != PhaseFailed {
		r.report(ctx)
	}
}

// refresh upserts the search attributes and sets the current details.
func (r *projectRun) refresh(ctx workflow.Context) {
	p := r.progress()
	r.sa.upsert(ctx, keyword(SearchAttrConnection, p.ConnectionID), keyword(SearchAttrOrg, r.in.Connection.OrgSlug),
		keyword(SearchAttrProject, p.ProjectSlug), keyword(SearchAttrPhase, p.Phase),
		integer(SearchAttrPipelines, p.Counts.Of(store.KindPipeline)))
	workflow.SetCurrentDetails(ctx, p.details())
}
