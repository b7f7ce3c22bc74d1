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
	st := r.st
	r.live.start(activities.StepProject)
	defer r.live.end()
	r.setPhase(ctx, PhasePages) // mostly the pages
	opts := workflow.GetActivityOptions(withPageActivity(ctx))
	opts.Summary = "sync " + r.in.ProjectSlug
	var res activities.ProjectCycleResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), a.SyncProject, activities.ProjectCycleInput{
		Start: activities.StartProjectInput{Connection: r.in.Connection, ProjectSlug: r.in.ProjectSlug,
			Since: r.in.Since, Overlap: r.in.Overlap, Repair: r.repairOn(), RepairEvery: Duration(r.repairEvery())},
		MaxPages: PagesPerActivity, RerunWindow: r.in.RerunWindow}).Get(ctx, &res)
	if err != nil {
		noteError(ctx, &st.LastError, "sync", describe(err))
		return r.plan(ctx)
	}
	st.Planned, st.Plan = true, res.Plan
	st.Counts.Then(res.Counts)
	page := res.Page
	st.Pages += int(page.Counts.Pages)
	st.Newest = page.Newest
	st.PageToken, st.Lowest = page.NextPageToken, page.Lowest
	st.Paged = page.Done || page.NextPageToken == ""
	st.Refreshed, st.Recorded = res.Refreshed, res.Completed
	return nil
}
