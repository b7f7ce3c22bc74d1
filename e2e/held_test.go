package e2e

import (
	"context"
	"errors"
	"fmt"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// pageActivity is the registered name of the pipeline page activity.
const pageActivity = "SyncPipelinePage"

// projectRef is a project of a test's syncs and its ProjectSync workflow.
type projectRef struct {
	Slug       string
	WorkflowID string
	Pipelines  int // in the fake's Expected
}

// projectRefs lists the projects the syncs of ins cover (each input syncs the
// projects of its organisation), with their workflow IDs.
func projectRefs(ins []workflows.ConnectionSyncInput, ex circlecitest.Expected) []projectRef {
	pipelines := map[string]int{}
	for _, p := range ex.Pipelines {
		pipelines[p.ProjectSlug]++
	}
	var out []projectRef
	for _, in := range ins {
		for _, p := range ex.Projects {
			if p.OrganizationSlug == in.OrgSlug {
				out = append(out, projectRef{p.Slug, workflows.ProjectWorkflowID(in.ConnectionID, p.Slug), pipelines[p.Slug]})
			}
		}
	}
	return out
}

// describe describes the latest run of workflow id (nil, nil while it does not
// exist yet).
func describe(ctx context.Context, c client.Client, id string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	d, err := c.DescribeWorkflow(ctx, id, "")
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return nil, nil
		}
		return nil, fmt.Errorf("describe %s: %w", id, err)
	}
	return d.RawResponse, nil
}

// heldActivity is an activity a worker had started and not finished.
type heldActivity struct {
	WorkflowID, RunID, ActivityID, Type string
	Attempt                             int32
	Identity                            string // the worker's
}

func (h heldActivity) String() string {
	return fmt.Sprintf("%s %s (activity %s, attempt %d, worker %s)", h.WorkflowID, h.Type, h.ActivityID, h.Attempt,
		h.Identity)
}

// startedActivities returns the activities of the latest runs of ids that a
// worker has started and not finished (pending in state STARTED).
func startedActivities(ctx context.Context, c client.Client, ids []string) ([]heldActivity, error) {
	var out []heldActivity
	for _, id := range ids {
		d, err := describe(ctx, c, id)
		if err != nil || d == nil {
			if err != nil {
				return nil, err
			}
			continue
		}
		for _, p := range d.GetPendingActivities() {
			if p.GetState() != enumspb.PENDING_ACTIVITY_STATE_STARTED {
				continue
			}
			out = append(out, heldActivity{
				WorkflowID: id, RunID: d.GetWorkflowExecutionInfo().GetExecution().GetRunId(),
				ActivityID: p.GetActivityId(), Type: p.GetActivityType().GetName(), Attempt: p.GetAttempt(),
				Identity: p.GetLastWorkerIdentity(),
			})
		}
	}
	return out, nil
}

// workflowIDs returns the workflow IDs of refs.
func workflowIDs(refs []projectRef) []string {
	ids := make([]string, len(refs))
	for i, r := range refs {
		ids[i] = r.WorkflowID
	}
	return ids
}

// activityOutcome is what the history of a run says of one activity.
type activityOutcome struct {
	Type       string
	MaxAttempt int32  // of the attempt that ended it (0: not ended)
	Identity   string // of the worker that ran that attempt
	Completed  bool
}

// activityInHistory reads, from the history of run runID of workflow id, how
// activity activityID ended.
func activityInHistory(ctx context.Context, c client.Client, id, runID, activityID string) (activityOutcome, error) {
	var out activityOutcome
	var scheduled int64
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return out, fmt.Errorf("history of %s: %w", id, err)
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityId() == activityID {
			scheduled = ev.GetEventId()
			out.Type = a.GetActivityType().GetName()
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && scheduled != 0 && a.GetScheduledEventId() == scheduled {
			out.MaxAttempt, out.Identity = a.GetAttempt(), a.GetIdentity()
		}
		if a := ev.GetActivityTaskCompletedEventAttributes(); a != nil && scheduled != 0 && a.GetScheduledEventId() == scheduled {
			out.Completed = true
		}
	}
	return out, nil
}

// completedActivities counts the activities of type typ that the history of
// run runID of workflow id shows completed.
func completedActivities(ctx context.Context, c client.Client, id, runID, typ string) (int, error) {
	types := map[int64]string{}
	n := 0
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return 0, fmt.Errorf("history of %s: %w", id, err)
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			types[ev.GetEventId()] = a.GetActivityType().GetName()
		}
		if a := ev.GetActivityTaskCompletedEventAttributes(); a != nil && types[a.GetScheduledEventId()] == typ {
			n++
		}
	}
	return n, nil
}

// requireHeldActivitiesRetried checks that each activity a killed worker held
// was completed by a later attempt (attempt > 1), and returns the outcomes.
func requireHeldActivitiesRetried(t *testing.T, c client.Client, held []heldActivity) []activityOutcome {
	t.Helper()
	var outs []activityOutcome
	for _, h := range held {
		o, err := activityInHistory(context.Background(), c, h.WorkflowID, h.RunID, h.ActivityID)
		if err != nil {
			t.Fatalf("%v", err)
		}
		t.Logf("held by the killed worker: %s → completed %v by attempt %d (worker %s)", h, o.Completed, o.MaxAttempt,
			o.Identity)
		if !o.Completed || o.MaxAttempt < 2 {
			t.Errorf("activity %s: completed %v by attempt %d; want it completed by a retry (attempt > 1)", h,
				o.Completed, o.MaxAttempt)
		}
		outs = append(outs, o)
	}
	return outs
}
