package circlecitest

// Enum values from the CircleCI v2 spec. They are spelled out here rather than
// taken from package circleci: the fake must follow CircleCI, not our client.

// Pipeline states.
const (
	pipelineStateCreated = "created"
	pipelineStateErrored = "errored"
)

// Pipeline trigger types.
const (
	triggerWebhook   = "webhook"
	triggerAPI       = "api"
	triggerScheduled = "scheduled_pipeline"
	triggerExplicit  = "explicit"
)

// Workflow statuses.
const (
	workflowStatusSuccess  = "success"
	workflowStatusRunning  = "running"
	workflowStatusFailed   = "failed"
	workflowStatusError    = "error"
	workflowStatusFailing  = "failing"
	workflowStatusOnHold   = "on_hold"
	workflowStatusCanceled = "canceled"
)

// Job statuses.
const (
	jobStatusSuccess            = "success"
	jobStatusRunning            = "running"
	jobStatusNotRun             = "not_run"
	jobStatusFailed             = "failed"
	jobStatusQueued             = "queued"
	jobStatusInfrastructureFail = "infrastructure_fail"
	jobStatusTimedOut           = "timedout"
	jobStatusOnHold             = "on_hold"
	jobStatusBlocked            = "blocked"
	jobStatusCanceled           = "canceled"
)

// Job types.
const (
	jobTypeBuild    = "build"
	jobTypeApproval = "approval"
)

// isTerminalWorkflow reports whether a workflow status is final.
func isTerminalWorkflow(status string) bool {
	switch status {
	case workflowStatusRunning, workflowStatusFailing, workflowStatusOnHold:
		return false
	}
	return true
}

// isTerminalJob reports whether a job status is final.
func isTerminalJob(status string) bool {
	switch status {
	case jobStatusRunning, jobStatusQueued, jobStatusBlocked, jobStatusOnHold, "not_running":
		return false
	}
	return true
}
