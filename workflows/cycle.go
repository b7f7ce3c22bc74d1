package workflows

import (
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/activities"
)

// cycle runs the sync cycle from where the state stands.
func (r *connectionRun) cycle(ctx workflow.Context) (ConnectionSyncResult, error) {
	st := r.st
	if !st.Verified {
		if err := r.verify(ctx); err != nil {
			return ConnectionSyncResult{}, err
		}
	}
	if !st.Discovered {
		if err := r.discover(ctx); err != nil {
			return ConnectionSyncResult{}, err
		}
	}
	r.begin(ctx, PhaseProjects)
	if err := r.runProjects(ctx); err != nil {
		return ConnectionSyncResult{}, err
	}
	if st.more() || len(st.Carried) > 0 {
		// Go on with the rest, and the children still running, in a new run.
		st.Runs++
		next := *st
		next.InFlight = nil
		return ConnectionSyncResult{}, r.continueAsNew(ctx, &next)
	}
	if err := r.finishCycle(ctx); err != nil {
		return ConnectionSyncResult{}, err
	}
	return r.result(), nil
}

// begin enters phase; from now on a resync request goes to the next cycle.
func (r *connectionRun) begin(ctx workflow.Context, phase string) {
	r.st.Begun = true
	r.setPhase(ctx, phase)
}

// exec runs an activity, noting a failure as the last error.
func (r *connectionRun) exec(ctx workflow.Context, what string, fn, arg, result any) error {
	err := workflow.ExecuteActivity(summarized(ctx, what), fn, arg).Get(ctx, result)
	if err != nil {
		noteError(ctx, &r.st.LastError, what, describe(err))
	}
	return err
}

// verify checks the connection with CircleCI.
func (r *connectionRun) verify(ctx workflow.Context) error {
	r.begin(ctx, PhaseVerify)
	var report activities.VerifyReport
	err := r.exec(withShortActivity(ctx), fmt.Sprintf("verify connection %s (%s)", r.in.ConnectionID, r.in.OrgSlug),
		a.VerifyConnection, activities.VerifyInput{Connection: r.in.connection(), Projects: r.in.Projects}, &report)
	if err == nil {
		r.st.Verified = true
		r.st.Requests += report.Requests
	}
	return err
}

// discover lists the cycle's projects into the store.
func (r *connectionRun) discover(ctx workflow.Context) error {
	r.begin(ctx, PhaseDiscover)
	var found activities.CycleDiscovery
	err := r.exec(withPageActivity(ctx), "discover the projects of "+r.in.OrgSlug, a.DiscoverCycle,
		activities.DiscoverInput{Connection: r.in.connection(), Projects: r.in.Projects,
			FreshFor: *r.in.RediscoverAfter, OrgListLater: true}, &found)
	if err == nil {
		r.st.Discovered, r.st.DiscoverRest, r.st.FirstSync = true, found.Rest, found.FirstSync
		r.st.Total, r.st.Projects = found.Projects, found.First
		r.st.Requests += found.Requests
	}
	return err
}

// discoverRest reads the org pipeline list a first discovery left, beside the
// projects' children: the projects it finds join the cycle's total. A failure
// stops new children and fails the cycle once the running ones are done.
func (r *connectionRun) discoverRest(ctx workflow.Context, f *fanOut) {
	actx := summarized(withPageActivity(ctx), "read the org pipeline list of "+r.in.OrgSlug)
	fut := workflow.ExecuteActivity(actx, a.DiscoverCycleRest, activities.DiscoverInput{Connection: r.in.connection()})
	f.mustSee(fut, func(fut workflow.Future) {
		var found activities.CycleDiscovery
		if err := fut.Get(ctx, &found); err != nil {
			noteError(ctx, &r.st.LastError, "read the org pipeline list of "+r.in.OrgSlug, describe(err))
			f.err = err
			return
		}
		r.st.DiscoverRest = false
		r.st.Total = found.Projects
		r.st.Requests += found.Requests
		r.refresh(ctx)
	})
}

// nextWindow reads the cycle's next projects from the store.
func (r *connectionRun) nextWindow(ctx workflow.Context) error {
	st := r.st
	offset := st.Offset + len(st.Projects)
	var slugs []string
	err := r.exec(withShortActivity(ctx), fmt.Sprintf("read projects %d to %d", offset+1, offset+ProjectWindow),
		a.CycleProjects, activities.CyclePageInput{Offset: offset, Limit: ProjectWindow}, &slugs)
	if err == nil && len(slugs) == 0 {
		err = temporal.NewNonRetryableApplicationError(fmt.Sprintf("the cycle's projects from %d are not in the store",
			offset), activities.ErrInvalidInput, nil)
	}
	if err == nil {
		st.Offset, st.Projects, st.Next = offset, slugs, 0
	}
	return err
}

// finishCycle fetches the users the cycle's projects reference and records
// the cycle and its projects, less those found missing (unless all were: the
// token more likely lost its access), in one activity.
func (r *connectionRun) finishCycle(ctx workflow.Context) error {
	st := r.st
	r.setPhase(ctx, PhaseUsers)
	r.live.start(activities.StepUsers)
	defer r.live.end()
	missing := st.Missing
	if st.NotFound >= st.Total {
		missing = nil
	}
	counts := st.Totals
	counts.Requests += st.Requests
	conn := r.in.connection()
	var users activities.ResolveUsersResult
	err := r.exec(withPageActivity(ctx), "resolve the users and record the cycle of connection "+r.in.ConnectionID,
		a.FinishCycle, activities.FinishCycleInput{
			Users: activities.ResolveUsersInput{Connection: conn, Projects: st.allProjects(), FreshFor: *r.in.UsersFreshFor},
			Complete: activities.CompleteConnectionInput{Connection: conn, Projects: st.allProjects(), Missing: missing,
				Counts: counts, Failed: int64(st.Failed)},
		}, &users)
	if err == nil {
		st.Users = &users
	}
	return err
}

// result sums the cycle up; it lists the outcomes the state kept.
func (r *connectionRun) result() ConnectionSyncResult {
	st := r.st
	res := ConnectionSyncResult{ConnectionID: r.in.ConnectionID, Cycle: st.Cycle, Users: *st.Users, Runs: st.Runs + 1,
		FailedProjects: st.Failed, Totals: st.Totals, Projects: slices.Clone(st.Outcomes)}
	slices.SortFunc(res.Projects, func(x, y ProjectOutcome) int { return strings.Compare(x.ProjectSlug, y.ProjectSlug) })
	res.OmittedProjects = st.Completed + st.Failed - len(res.Projects)
	res.Totals.Then(st.Users.Counts)
	res.Totals.Requests += st.Requests
	return res
}
