package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/activities"
)

// start runs the project's sync as one SyncProject activity: a project whose
// pages fit in it completes in one round trip. It retries as a page activity
// does (a lost worker, a store outage), each attempt from the start; when it
// fails for good, the steps run one activity each (plan, pages, refresh, record).
func (r *projectRun) start(ctx workflow.Context) error {
	r.live.start(activities.StepProject)
	defer r.live.end()
	r.setPhase(ctx, PhasePages) // mostly the pages
	opts := workflow.GetActivityOptions(withPageActivity(ctx))
	opts.Summary = "sync " + r.in.ProjectSlug
	var res activities.ProjectCycleResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), a.SyncProject, r.in.cycleInput()).Get(ctx, &res)
	if err != nil {
		noteError(ctx, &r.st.LastError, "sync", describe(err))
		return r.plan(ctx)
	}
	r.goOnFrom(res)
	return nil
}

// goOnFrom takes a SyncProject result as the state: the steps it did are skipped.
func (r *projectRun) goOnFrom(res activities.ProjectCycleResult) {
	st := r.st
	st.Planned, st.Plan = true, res.Plan
	st.Counts.Then(res.Counts)
	page := res.Page
	st.Pages += int(page.Counts.Pages)
	st.Newest = page.Newest
	st.PageToken, st.Lowest = page.NextPageToken, page.Lowest
	st.Paged = page.Done || page.NextPageToken == ""
	st.Refreshed, st.Recorded = res.Refreshed, res.Completed
}

// cycleInput is SyncProject's input for the project.
func (in ProjectSyncInput) cycleInput() activities.ProjectCycleInput {
	return activities.ProjectCycleInput{
		Start: activities.StartProjectInput{Connection: in.Connection, ProjectSlug: in.ProjectSlug,
			Since: in.Since, Overlap: in.Overlap, Repair: in.repairOn(), RepairEvery: Duration(in.repairEvery())},
		MaxPages: PagesPerActivity, RerunWindow: in.RerunWindow}
}
