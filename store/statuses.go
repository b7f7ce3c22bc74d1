package store

import (
	"slices"
	"strings"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// The status sets below are the single source of the SQL that decides whether a stored
// workflow, job or pipeline can still change (the write guard and OpenItems). The
// workflow and job sets are derived at init from circleci.IsTerminalWorkflowStatus and
// circleci.IsTerminalJobStatus applied to every status the circleci package declares,
// and the final pipeline states from circleci.IsFinalPipelineState, so SQL and Go
// cannot disagree. A test (TestStatusListsCoverModels) checks
// that the lists below name every status and state constant of the circleci package,
// and another that the partial indexes of the migrations use the same predicates.
//
// A status or state that the circleci package does not declare (one CircleCI added
// later, or none) is in no list. For the write guard it is therefore neither terminal
// nor final: a stored row in such a state may be replaced by any snapshot, and a
// snapshot in such a state never replaces a terminal or final row. For OpenItems an
// unknown workflow status or pipeline state is open: the entity is polled again.

// knownWorkflowStatuses lists every circleci.WorkflowStatus* constant.
var knownWorkflowStatuses = []string{
	circleci.WorkflowStatusSuccess,
	circleci.WorkflowStatusRunning,
	circleci.WorkflowStatusNotRun,
	circleci.WorkflowStatusFailed,
	circleci.WorkflowStatusError,
	circleci.WorkflowStatusFailing,
	circleci.WorkflowStatusOnHold,
	circleci.WorkflowStatusCanceled,
	circleci.WorkflowStatusUnauthorized,
}

// knownJobStatuses lists every circleci.JobStatus* constant.
var knownJobStatuses = []string{
	circleci.JobStatusSuccess,
	circleci.JobStatusRunning,
	circleci.JobStatusNotRun,
	circleci.JobStatusFailed,
	circleci.JobStatusRetried,
	circleci.JobStatusQueued,
	circleci.JobStatusNotRunning,
	circleci.JobStatusInfrastructureFail,
	circleci.JobStatusTimedOut,
	circleci.JobStatusOnHold,
	circleci.JobStatusTerminatedUnknown,
	circleci.JobStatusBlocked,
	circleci.JobStatusCanceled,
	circleci.JobStatusUnauthorized,
}

// knownPipelineStates lists every circleci.PipelineState* constant.
var knownPipelineStates = []string{
	circleci.PipelineStateCreated,
	circleci.PipelineStateErrored,
	circleci.PipelineStateSetupPending,
	circleci.PipelineStateSetup,
	circleci.PipelineStatePending,
}

var (
	// terminalWorkflowStatuses is the subset of knownWorkflowStatuses that
	// circleci.IsTerminalWorkflowStatus calls terminal, in declaration order.
	terminalWorkflowStatuses = filterStatuses(knownWorkflowStatuses, circleci.IsTerminalWorkflowStatus)
	// terminalJobStatuses is the subset of knownJobStatuses that
	// circleci.IsTerminalJobStatus calls terminal, in declaration order.
	terminalJobStatuses = filterStatuses(knownJobStatuses, circleci.IsTerminalJobStatus)
	// finalPipelineStates is the subset of knownPipelineStates that
	// circleci.IsFinalPipelineState calls final (created, errored), in declaration order.
	finalPipelineStates = filterStatuses(knownPipelineStates, circleci.IsFinalPipelineState)

	// terminalWorkflowSQL is the SQL list of terminal workflow statuses: ('success', ...).
	terminalWorkflowSQL = sqlList(terminalWorkflowStatuses)
	// terminalJobSQL is the SQL list of terminal job statuses.
	terminalJobSQL = sqlList(terminalJobStatuses)
	// finalPipelineSQL is the SQL list of the final pipeline states.
	finalPipelineSQL = sqlList(finalPipelineStates)

	// Predicates shared by the queries and the partial indexes of the migrations; the
	// migrations must spell them exactly so (TestMigrationPredicatesMatchGo), or the
	// query planners will not use the indexes.
	openWorkflowPredicate = "status NOT IN " + terminalWorkflowSQL
	openJobPredicate      = "status NOT IN " + terminalJobSQL
	openPipelinePredicate = "state NOT IN " + finalPipelineSQL
)

// filterStatuses returns the statuses for which keep is true, in order.
func filterStatuses(statuses []string, keep func(string) bool) []string {
	out := make([]string, 0, len(statuses))
	for _, s := range statuses {
		if keep(s) {
			out = append(out, s)
		}
	}
	return slices.Clip(out)
}

// sqlList renders values as a parenthesised list of SQL string literals.
func sqlList(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = sqlString(v)
	}
	return "(" + strings.Join(quoted, ", ") + ")"
}

// sqlString renders s as an SQL string literal. It is only used on the package's own
// constants; values from CircleCI are always passed as query parameters.
func sqlString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
