package workflows

import (
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/activities"
)

// Bounds of what ConnectionSyncState keeps of the outcomes, so that its size
// does not grow with the organisation (the rest is in the children's
// histories).
const (
	// MaxListedOutcomes bounds ConnectionSyncResult.Projects: every outcome up to
	// that many projects, beyond it the failures only.
	MaxListedOutcomes = 100
	// MaxOutcomeError bounds a listed outcome's error message, in bytes.
	MaxOutcomeError = 500
	// MaxMissing bounds the projects found missing that one cycle drops from
	// the connection's record (the next cycles drop the others).
	MaxMissing = 500
	// ProjectWindow is how many of the cycle's project slugs the state holds at
	// once (the others wait in the store).
	ProjectWindow = activities.CycleFirstProjects
)

// refuseExternalState refuses a state that the workflow did not carry itself
// across continue-as-new: a start with one could skip verification and forge
// the recorded figures.
func refuseExternalState(ctx workflow.Context, hasState bool) error {
	if hasState && workflow.GetInfo(ctx).ContinuedExecutionRunID == "" {
		return temporal.NewNonRetryableApplicationError("state is set by the workflow itself when it continues as new: "+
			"leave it out of a start", activities.ErrInvalidInput, nil)
	}
	return nil
}

// more tells whether projects are left to start.
func (st *ConnectionSyncState) more() bool {
	return len(st.Retry) > 0 || st.Next < len(st.Projects) || st.Offset+len(st.Projects) < st.Total
}

// windowUsedUp tells whether the next project to start is past the window of
// slugs the state holds.
func (st *ConnectionSyncState) windowUsedUp() bool {
	return len(st.Retry) == 0 && st.Next == len(st.Projects) && st.Offset+len(st.Projects) < st.Total
}

// allProjects returns the cycle's projects when the state holds them all, else
// nil (the activities read them from the store).
func (st *ConnectionSyncState) allProjects() []string {
	if st.Offset == 0 && len(st.Projects) == st.Total {
		return st.Projects
	}
	return nil
}

// next returns the next project to start: a retry first, else the next in order.
func (st *ConnectionSyncState) next() string {
	if len(st.Retry) > 0 {
		slug := st.Retry[0]
		st.Retry = st.Retry[1:]
		return slug
	}
	st.Next++
	return st.Projects[st.Next-1]
}

// record counts a finished project's outcome, keeping it within the bounds.
func (st *ConnectionSyncState) record(o ProjectOutcome) {
	st.Totals.Add(o.Counts)
	if o.Status == ProjectFailed {
		st.Failed++
	} else {
		st.Completed++
	}
	if o.ErrorType == activities.ErrProjectNotFound {
		st.NotFound++
		if len(st.Missing) < MaxMissing {
			st.Missing = append(st.Missing, o.ProjectSlug)
		}
	}
	if len(st.Outcomes) < MaxListedOutcomes && (st.Total <= MaxListedOutcomes || o.Status == ProjectFailed) {
		if len(o.Error) > MaxOutcomeError {
			o.Error = strings.ToValidUTF8(o.Error[:MaxOutcomeError], "") + "…"
		}
		st.Outcomes = append(st.Outcomes, o)
	}
}
