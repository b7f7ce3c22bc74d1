package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/activities"
)

// InlineAttempts bounds the attempts of a project's inline SyncProject: past
// them the project's child takes over, with the full retry budget.
const InlineAttempts = 3

// inlineOn tells whether the run syncs its projects inline first: a cycle
// reading no job extras that is not the org's first discovery.
func (r *connectionRun) inlineOn() bool {
	return !r.st.FirstSync && !r.in.extras().Any()
}

// startInline runs slug's SyncProject as the connection's own activity. A
// project it leaves unfinished (more pages, a repair due) or fails gets its
// child, which goes on from the result or starts over.
func (r *connectionRun) startInline(ctx workflow.Context, f *fanOut, slug string) {
	opts := workflow.GetActivityOptions(withPageActivity(ctx))
	opts.Summary = "sync " + slug
	opts.RetryPolicy.MaximumAttempts = InlineAttempts
	fut := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), a.SyncProject,
		r.projectInput(slug).cycleInput())
	if r.projects == nil {
		r.projects = map[string]*projectLive{}
	}
	// SyncProject reports its figures to the connection as the project's step.
	l := &projectLive{phase: PhasePages}
	l.live.start(activities.StepProject)
	r.projects[slug] = l
	r.track(ctx, f, slug, fut, true, func(fut workflow.Future) {
		var res activities.ProjectCycleResult
		err := fut.Get(ctx, &res)
		switch {
		case err != nil:
			r.startProject(ctx, f, slug, nil)
		case !res.Completed:
			r.startProject(ctx, f, slug, &res)
		default:
			var last *ErrorNote
			noteError(ctx, &last, "project "+slug, res.Page.LastError)
			r.finished(ctx, ProjectOutcome{ProjectSlug: slug, Inline: true, Status: ProjectCompleted,
				Incremental: res.Plan.Incremental, Counts: res.Counts}, last)
		}
	})
}
