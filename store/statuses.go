package store

import (
	"slices"
	"strings"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// The status sets, derived at init from the circleci package's statuses and its
// IsTerminal/IsFinal functions, are the one source of the SQL deciding whether a row can
// still change (write guard, OpenItems), so SQL and Go cannot disagree. An unknown
// status is in no list: never terminal for the guard, open for OpenItems.

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
	// terminalWorkflowStatuses: those circleci.IsTerminalWorkflowStatus calls terminal.
	terminalWorkflowStatuses = filterStatuses(knownWorkflowStatuses, circleci.IsTerminalWorkflowStatus)
	// terminalJobStatuses: those circleci.IsTerminalJobStatus calls terminal.
	terminalJobStatuses = filterStatuses(knownJobStatuses, circleci.IsTerminalJobStatus)
	// finalPipelineStates: those circleci.IsFinalPipelineState calls final.
	finalPipelineStates = filterStatuses(knownPipelineStates, circleci.IsFinalPipelineState)

	// terminalWorkflowSQL is the SQL list of terminal workflow statuses: ('success', ...).
	terminalWorkflowSQL = sqlList(terminalWorkflowStatuses)
	// terminalJobSQL is the SQL list of terminal job statuses.
	terminalJobSQL = sqlList(terminalJobStatuses)
	// finalPipelineSQL is the SQL list of the final pipeline states.
	finalPipelineSQL = sqlList(finalPipelineStates)

	// Predicates shared by the queries and the migrations' partial indexes, which must
	// spell them exactly so (TestMigrationPredicatesMatchGo).
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

// sqlString quotes the package's own constants; CircleCI values are always parameters.
func sqlString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
