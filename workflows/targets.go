package workflows

// TargetsUpdate is the ConnectionSync Update the webhook receiver sends a
// completed workflow or job to, for a targeted sync of its pipeline.
const TargetsUpdate = "targets"

// TargetUpdateIDPrefix plus the event id is the Update's ID, so that
// CircleCI's retries and duplicates make one Update.
const TargetUpdateIDPrefix = "circleci-event/"

// MaxTargetRequestBytes bounds an encoded TargetRequest, for the validator.
const MaxTargetRequestBytes = 4 << 10

// TargetRequest is TargetsUpdate's argument: one webhook event's pipeline.
// ProjectSlug is in the short form ("gh/acme/api"); the ids are UUIDs.
type TargetRequest struct {
	EventID     string `json:"event_id"`
	Type        string `json:"type"` // workflow-completed or job-completed
	ProjectSlug string `json:"project_slug"`
	PipelineID  string `json:"pipeline_id"`
	WorkflowID  string `json:"workflow_id"`
}

// TargetResult is TargetsUpdate's answer: Status is TargetQueued or
// TargetDuplicate, Pending the pipelines awaiting a targeted sync.
type TargetResult struct {
	Status  string `json:"status"`
	Pending int    `json:"pending"`
}

// TargetResult statuses.
const (
	TargetQueued    = "queued"
	TargetDuplicate = "duplicate"
)

// TargetUpdateID is the Update ID of the event eventID.
func TargetUpdateID(eventID string) string {
	return TargetUpdateIDPrefix + eventID
}
