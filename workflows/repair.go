package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/activities"
)

// RepairAttempts bounds the attempts of a repair pass: a failed pass is noted and
// the next sync runs it again, from the same point.
const RepairAttempts = 3

// repairOn tells whether the project's repair passes are on.
func (in ProjectSyncInput) repairOn() bool { return in.RepairEvery != nil && !in.RepairEvery.Off }

// repairEvery is how old the last repair pass must be for one to be due.
func (in ProjectSyncInput) repairEvery() time.Duration {
	if !in.repairOn() {
		return 0
	}
	return in.RepairEvery.Every.D()
}

// repair runs the planned repair pass; a failure is noted, never fatal.
func (r *projectRun) repair(ctx workflow.Context) {
	st := r.st
	r.setPhase(ctx, PhaseRepair)
	opts := workflow.GetActivityOptions(withPageActivity(ctx))
	opts.RetryPolicy.MaximumAttempts = RepairAttempts
	var res activities.RepairResult
	_ = r.exec(workflow.WithActivityOptions(ctx, opts), "repair", "repair the runs of "+r.in.ProjectSlug,
		a.RepairProject, activities.RepairInput{Connection: r.in.Connection, ProjectSlug: r.in.ProjectSlug,
			From: st.Plan.Repair.From, ReadNames: st.Plan.Repair.ReadNames}, &res)
	st.Counts.Then(res.Counts)
}
