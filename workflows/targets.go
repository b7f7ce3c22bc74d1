package workflows

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/circleci/webhooks"
)

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

// Bounds of the targets a ConnectionSync holds: the pipelines queued (a full
// queue rejects new ones, so the receiver answers 503 and CircleCI retries) and
// the event ids kept across continue-as-new to answer replays duplicate.
const (
	MaxPendingTargets = 1000
	MaxRecentEvents   = 1000
)

// QueuedTarget is a pipeline awaiting a targeted sync; Retried marks one whose
// batch failed once (a second failure drops it: polling is the safety net).
type QueuedTarget struct {
	activities.PipelineTarget
	Retried bool `json:"retried,omitempty"`
}

// ErrTargetsFull is the type of the rejection of a target when the queue is full.
const ErrTargetsFull = "targets_full"

var (
	eventIDPattern = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)
	uuidPattern    = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// handleTargets registers the targets Update: validated, then queued.
func (r *connectionRun) handleTargets(ctx workflow.Context) error {
	err := workflow.SetUpdateHandlerWithOptions(ctx, TargetsUpdate,
		func(ctx workflow.Context, req TargetRequest) (TargetResult, error) {
			return r.queueTarget(req), nil
		},
		workflow.UpdateHandlerOptions{
			Validator:   func(_ workflow.Context, req TargetRequest) error { return r.checkTarget(req) },
			Description: "Queue a webhook event's pipeline for a targeted sync (TargetRequest).",
		})
	if err != nil {
		return fmt.Errorf("set the %s update handler: %w", TargetsUpdate, err)
	}
	return nil
}

// checkTarget refuses a request too large, with bad ids, of a project outside
// the connection (invalid_input), or one the full queue cannot take.
func (r *connectionRun) checkTarget(req TargetRequest) error {
	b, err := json.Marshal(req)
	var problem string
	switch {
	case err != nil || len(b) > MaxTargetRequestBytes:
		problem = fmt.Sprintf("target request over %d bytes", MaxTargetRequestBytes)
	case !eventIDPattern.MatchString(req.EventID):
		problem = "event_id: want 1 to 64 letters, digits and '-'"
	case req.Type != webhooks.WorkflowCompleted && req.Type != webhooks.JobCompleted:
		problem = "type: want workflow-completed or job-completed"
	case !uuidPattern.MatchString(req.PipelineID) || (req.WorkflowID != "" && !uuidPattern.MatchString(req.WorkflowID)):
		problem = "pipeline_id and workflow_id: want UUIDs"
	case projectSlugProblem(req.ProjectSlug) != "" || !r.inScope(req.ProjectSlug):
		problem = "project_slug: want a project of organisation " + r.in.OrgSlug + " (and of projects, when listed)"
	}
	if problem != "" {
		return temporal.NewNonRetryableApplicationError("invalid target: "+problem, activities.ErrInvalidInput, nil)
	}
	if len(r.st.Targets) >= MaxPendingTargets && r.queued(req.PipelineID) < 0 && !slices.Contains(r.st.RecentEvents, req.EventID) {
		return temporal.NewApplicationError(fmt.Sprintf("%d pipelines queued: try again later", MaxPendingTargets), ErrTargetsFull)
	}
	return nil
}

// inScope reports whether slug is in the connection's org, and among its
// projects when it lists them.
func (r *connectionRun) inScope(slug string) bool {
	if !webhooks.InOrg(r.in.OrgSlug, slug) {
		return false
	}
	c := webhooks.CanonicalSlug(slug)
	return len(r.in.Projects) == 0 || slices.ContainsFunc(r.in.Projects, func(p string) bool {
		return webhooks.CanonicalSlug(p) == c
	})
}

// queued returns the queue index of the pipeline id, or -1.
func (r *connectionRun) queued(id string) int {
	return slices.IndexFunc(r.st.Targets, func(t QueuedTarget) bool { return strings.EqualFold(t.PipelineID, id) })
}

// queueTarget queues req's pipeline, or adds its workflow to the pipeline's
// queued target. An event seen before, or adding nothing, is a duplicate.
func (r *connectionRun) queueTarget(req TargetRequest) TargetResult {
	st := r.st
	if slices.Contains(st.RecentEvents, req.EventID) {
		return TargetResult{Status: TargetDuplicate, Pending: len(st.Targets)}
	}
	st.RecentEvents = append(st.RecentEvents, req.EventID)
	if n := len(st.RecentEvents) - MaxRecentEvents; n > 0 {
		st.RecentEvents = slices.Delete(st.RecentEvents, 0, n)
	}
	var wfs []string
	if req.WorkflowID != "" {
		wfs = []string{req.WorkflowID}
	}
	i := r.queued(req.PipelineID)
	if i < 0 {
		st.Targets = append(st.Targets, QueuedTarget{PipelineTarget: activities.PipelineTarget{
			ProjectSlug: webhooks.ShortSlug(req.ProjectSlug), PipelineID: req.PipelineID, WorkflowIDs: wfs}})
		return TargetResult{Status: TargetQueued, Pending: len(st.Targets)}
	}
	t := &st.Targets[i]
	if len(wfs) == 0 || slices.Contains(t.WorkflowIDs, wfs[0]) {
		return TargetResult{Status: TargetDuplicate, Pending: len(st.Targets)}
	}
	t.WorkflowIDs = append(t.WorkflowIDs, wfs[0])
	return TargetResult{Status: TargetQueued, Pending: len(st.Targets)}
}
