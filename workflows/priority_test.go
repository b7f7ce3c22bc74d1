package workflows

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/activities"
)

// priorities records the priority each activity type and child was scheduled
// with (the test environment leaves activity.Info.Priority empty).
type priorities struct {
	interceptor.WorkerInterceptorBase
	mu       sync.Mutex
	activity map[string][]temporal.Priority
	children map[string]temporal.Priority
}

func watchPriorities(env *testsuite.TestWorkflowEnvironment) *priorities {
	p := &priorities{activity: map[string][]temporal.Priority{}, children: map[string]temporal.Priority{}}
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: time.Minute,
		Interceptors: []interceptor.WorkerInterceptor{p}})
	return p
}

func (p *priorities) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &childWatch{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, p: p}
}

// childWatch records the priorities of the activities and children a workflow starts.
type childWatch struct {
	interceptor.WorkflowInboundInterceptorBase
	interceptor.WorkflowOutboundInterceptorBase
	p *priorities
}

func (c *childWatch) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	c.WorkflowOutboundInterceptorBase.Next = outbound
	return c.WorkflowInboundInterceptorBase.Next.Init(c)
}

func (c *childWatch) ExecuteActivity(ctx workflow.Context, name string, args ...any) workflow.Future {
	c.p.mu.Lock()
	c.p.activity[name] = append(c.p.activity[name], workflow.GetActivityOptions(ctx).Priority)
	c.p.mu.Unlock()
	return c.WorkflowOutboundInterceptorBase.Next.ExecuteActivity(ctx, name, args...)
}

func (c *childWatch) ExecuteChildWorkflow(ctx workflow.Context, name string, args ...any) workflow.ChildWorkflowFuture {
	opts := workflow.GetChildWorkflowOptions(ctx)
	c.p.mu.Lock()
	c.p.children[opts.WorkflowID] = opts.Priority
	c.p.mu.Unlock()
	return c.WorkflowOutboundInterceptorBase.Next.ExecuteChildWorkflow(ctx, name, args...)
}

func TestConnectionSyncSetsTheFairnessKeyOnActivitiesAndChildren(t *testing.T) {
	for _, synced := range []bool{false, true} {
		env := newEnv(t)
		p := watchPriorities(env)
		mockConnectionActivities(env, &connMocks{synced: synced})
		registerFakeProjects(env, &fakeProjects{})
		mockInline(env, func(slug string) (activities.ProjectCycleResult, error) { return inlineDone(slug), nil })

		env.ExecuteWorkflow(ConnectionSyncName, validInput("gh/acme/api", "gh/acme/web"))
		require.True(t, env.IsWorkflowCompleted())
		require.NoError(t, env.GetWorkflowError())

		want := temporal.Priority{FairnessKey: "acme"} // the key: the workflow's own
		names := []string{"VerifyConnection", "DiscoverCycle", "FinishCycle"}
		if synced {
			names = append(names, "SyncProject")
			assert.Empty(t, p.children, "an incremental cycle's projects run inline")
		} else {
			require.Len(t, p.children, 2)
			for id, got := range p.children {
				assert.Equal(t, temporal.Priority{PriorityKey: PriorityFirstSync, FairnessKey: "acme"}, got, id)
			}
		}
		for _, name := range names {
			require.NotEmpty(t, p.activity[name], name)
			for _, got := range p.activity[name] {
				assert.Equal(t, want, got, name)
			}
		}
	}
}

func TestProjectSyncPriorityFollowsThePlan(t *testing.T) {
	for _, incremental := range []bool{true, false} {
		env := newEnv(t)
		p := watchPriorities(env)
		plan := activities.ProjectPlan{Incremental: incremental, StartedAt: t0, Requests: 1}
		if incremental {
			plan.Watermark, plan.StopBefore = t0.Add(-48*time.Hour), t0.Add(-49*time.Hour)
		}
		var seen []activities.PageInput
		var completed activities.CompleteProjectInput
		var refreshed activities.RefreshInput
		mockProjectActivities(env, plan, 2, &seen, &completed, &refreshed)

		env.ExecuteWorkflow(ProjectSync, projectInput())
		require.True(t, env.IsWorkflowCompleted())
		require.NoError(t, env.GetWorkflowError())

		assert.Equal(t, []temporal.Priority{{FairnessKey: "acme"}}, p.activity["StartProject"])
		key := PriorityFirstSync
		if incremental {
			key = PriorityIncremental
		}
		want := temporal.Priority{PriorityKey: key, FairnessKey: "acme"}
		for _, name := range []string{"SyncPipelinePage", "RefreshProject", "CompleteProject"} {
			require.NotEmpty(t, p.activity[name], name)
			for _, got := range p.activity[name] {
				assert.Equal(t, want, got, "%s (incremental %t)", name, incremental)
			}
		}
	}
}
