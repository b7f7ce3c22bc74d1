package workflows

import (
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/activities"
)

// Bounds of ConnectionSyncState, whatever the organisation's size (outcomes
// stay in the children's histories): the outcomes listed, an error's bytes, the
// missing projects a cycle drops, the project slugs held.
const (
	MaxListedOutcomes = 100
	MaxOutcomeError   = 500
	MaxMissing        = 500
	ProjectWindow     = activities.CycleFirstProjects
)

// refuseExternalState refuses a state the workflow did not carry itself: it
// could skip verification and forge the recorded figures.
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

// windowUsedUp tells whether the next project is past the slugs held.
func (st *ConnectionSyncState) windowUsedUp() bool {
	return len(st.Retry) == 0 && st.Next == len(st.Projects) && st.Offset+len(st.Projects) < st.Total
}

// allProjects returns the cycle's projects if all are held, else nil.
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
