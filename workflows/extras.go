package workflows

import (
	"fmt"
	"regexp"
	"slices"

	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/activities"
)

// Values of ConnectionSyncInput.Include.
const (
	IncludeJobDetails = "job_details"
	IncludeTests      = "tests"
	// MaxTestsJobs bounds tests_jobs, in bytes.
	MaxTestsJobs = 256
)

// checkInclude checks include and tests_jobs.
func (in ConnectionSyncInput) checkInclude(add func(string, ...any)) {
	for i, v := range in.Include {
		if v != IncludeJobDetails && v != IncludeTests {
			add("include[%d] (%d bytes): want %q or %q", i, len(v), IncludeJobDetails, IncludeTests)
		}
	}
	if in.TestsJobs == "" {
		return
	}
	if !slices.Contains(in.Include, IncludeTests) {
		add("tests_jobs: applies only when include lists %q", IncludeTests)
	}
	if _, err := regexp.Compile(in.TestsJobs); err != nil || len(in.TestsJobs) > MaxTestsJobs {
		add("tests_jobs (%d bytes): want a regular expression (RE2) of at most %d bytes, e.g. \"test\"",
			len(in.TestsJobs), MaxTestsJobs)
	}
}

// extras is the activities' view of include and tests_jobs.
func (in ConnectionSyncInput) extras() activities.JobExtras {
	return activities.JobExtras{Details: slices.Contains(in.Include, IncludeJobDetails),
		Tests: slices.Contains(in.Include, IncludeTests), TestsJobs: in.TestsJobs}
}

// extrasAll reads the job extras until done, continuing as new when the history
// grows long (stop: return the result and the error).
func (r *projectRun) extrasAll(ctx workflow.Context) (res ProjectSyncResult, stop bool, err error) {
	st := r.st
	st.ExtrasStarted = true
	for calls := 0; !st.ExtrasDone; calls++ {
		if calls > 0 && continueAsNewSuggested(ctx) {
			st.Runs++
			next := r.in
			next.State = st
			return ProjectSyncResult{}, true, workflow.NewContinueAsNewError(ctx, ProjectSyncName, next)
		}
		if err := r.extras(ctx); err != nil {
			return ProjectSyncResult{}, true, err
		}
	}
	return ProjectSyncResult{}, false, nil
}

// extras runs one SyncJobExtras activity from where the last left off.
func (r *projectRun) extras(ctx workflow.Context) error {
	st := r.st
	r.setPhase(ctx, PhaseExtras)
	var res activities.JobExtrasResult
	err := r.exec(withPageActivity(ctx), fmt.Sprintf("job extras after %d", st.ExtrasAfter),
		"job details and tests of "+r.in.ProjectSlug, a.SyncJobExtras,
		activities.JobExtrasInput{Connection: r.in.Connection, ProjectSlug: r.in.ProjectSlug, Extras: r.in.Extras,
			After: st.ExtrasAfter}, &res)
	if err != nil {
		return err
	}
	st.Counts.Then(res.Counts)
	st.ExtrasAfter, st.ExtrasDone = res.After, res.Done
	return nil
}
