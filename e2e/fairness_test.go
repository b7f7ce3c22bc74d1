package e2e

import (
	"context"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/internal/testenv"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// eventPriorities returns the priorities of a run's started, child-initiated
// and activity-scheduled events, by event type (activities also by type name).
func eventPriorities(t *testing.T, c client.Client, id string) map[string][]*commonpb.Priority {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := map[string][]*commonpb.Priority{}
	it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", id, err)
		}
		switch a := ev.Attributes.(type) {
		case *historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes:
			out["started"] = append(out["started"], a.WorkflowExecutionStartedEventAttributes.GetPriority())
		case *historypb.HistoryEvent_StartChildWorkflowExecutionInitiatedEventAttributes:
			out["child"] = append(out["child"], a.StartChildWorkflowExecutionInitiatedEventAttributes.GetPriority())
		case *historypb.HistoryEvent_ActivityTaskScheduledEventAttributes:
			name := a.ActivityTaskScheduledEventAttributes.GetActivityType().GetName()
			out[name] = append(out[name], a.ActivityTaskScheduledEventAttributes.GetPriority())
		}
	}
	return out
}

// checkPriorities fails t unless every priority of kinds is key (0: none set)
// with fairness key fk.
func checkPriorities(t *testing.T, got map[string][]*commonpb.Priority, key int32, fk string, kinds ...string) {
	t.Helper()
	for _, k := range kinds {
		if len(got[k]) == 0 {
			t.Errorf("no %s event", k)
		}
		for _, p := range got[k] {
			if p.GetPriorityKey() != key || p.GetFairnessKey() != fk {
				t.Errorf("%s: priority %v, want key %d and fairness key %q", k, p, key, fk)
			}
		}
	}
}

// TestFairnessKeysInHistory syncs one connection twice on a dev server with
// fairness on: the histories carry its fairness key, and the projects priority 5
// on the first sync (children and their SyncProject activities), 3 on the
// incremental one (SyncProject activities of the connection: no children).
func TestFairnessKeysInHistory(t *testing.T) {
	tsrv := startTemporal(t)
	fake := startFake(t, circlecitest.Options{Seed: 41, Projects: 6, PipelinesPerProject: 25, Users: 3,
		Now: time.Now().UTC().Truncate(time.Second), Token: newToken()})
	tq := newID("fairness")
	tokenEnv := newEnvName("TOKEN")
	t.Setenv(tokenEnv, fake.Token())
	startWorker(t, tsrv, tq, testenv.SQLiteURL(t))
	in := connectionInputs(fake, newID("fair"), tokenEnv)[0]
	c := tsrv.Client()
	for i, pageKey := range []int32{workflows.PriorityFirstSync, workflows.PriorityIncremental} {
		ctx, cancel := context.WithTimeout(context.Background(), syncTimeout)
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.ConnectionWorkflowID(in.ConnectionID),
			TaskQueue: tq, Priority: workflows.SyncPriority(in.ConnectionID, workflows.PriorityIncremental)},
			workflows.ConnectionSyncName, in)
		if err == nil {
			err = run.Get(ctx, nil)
		}
		cancel()
		if err != nil {
			t.Fatalf("sync %d: %v", i+1, err)
		}
		got := eventPriorities(t, c, workflows.ConnectionWorkflowID(in.ConnectionID))
		checkPriorities(t, got, workflows.PriorityIncremental, in.ConnectionID,
			"started", "VerifyConnection", "DiscoverCycle", "FinishCycle")
		if pageKey == workflows.PriorityIncremental {
			// The incremental cycle syncs its projects inline, at its own key.
			checkPriorities(t, got, pageKey, in.ConnectionID, "SyncProject")
			if len(got["child"]) > 0 {
				t.Errorf("the incremental cycle started %d children, want none", len(got["child"]))
			}
			continue
		}
		// The org's first sync starts its children at first-sync priority.
		checkPriorities(t, got, pageKey, in.ConnectionID, "child")
		for _, p := range fake.Expected(fake.Token()).Projects[:1] {
			child := eventPriorities(t, c, workflows.ProjectWorkflowID(in.ConnectionID, p.Slug))
			// 25 pipelines fit in one SyncProject (plan, pages, refresh, record).
			checkPriorities(t, child, pageKey, in.ConnectionID, "started", "SyncProject")
		}
	}
}
