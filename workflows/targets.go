package workflows

// TargetsUpdate is the ConnectionSync Update the webhook receiver sends a
// completed workflow or job to, for a targeted sync of its pipeline.
const TargetsUpdate = "targets"

// TargetUpdateIDPrefix starts a targets Update's ID; the rest is the event
// id, so CircleCI's retries and duplicates make one Update.
const TargetUpdateIDPrefix = "circleci-event/"

// MaxTargetRequestBytes bounds a TargetRequest's encoded size: the
// validator refuses larger ones (the receiver's are a few hundred bytes).
const MaxTargetRequestBytes = 4 << 10

// TargetRequest is the argument of TargetsUpdate: one webhook event's pipeline.
type TargetRequest struct {
	// EventID is CircleCI's event id, the deduplication key.
	EventID string `json:"event_id"`
	// Type is "workflow-completed" or "job-completed".
	Type string `json:"type"`
	// ProjectSlug is the short form ("gh/acme/api"), in the connection's org.
	ProjectSlug string `json:"project_slug"`
	// PipelineID and WorkflowID are the event's UUIDs.
	PipelineID string `json:"pipeline_id"`
	WorkflowID string `json:"workflow_id"`
}

// TargetResult is TargetsUpdate's answer.
type TargetResult struct {
	// Status is TargetQueued or TargetDuplicate.
	Status string `json:"status"`
	// Pending counts the pipelines waiting for a targeted sync.
	Pending int `json:"pending"`
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
