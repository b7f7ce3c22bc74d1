package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/internal/testenv"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// standIn registers a stand-in ConnectionSync on queue that records its inputs
// and the workflow IDs it ran under.
func standIn(t *testing.T, c client.Client, queue string) chan string {
	t.Helper()
	ran := make(chan string, 10)
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context, in workflows.ConnectionSyncInput) (workflows.ConnectionSyncResult, error) {
		if err := in.Validate(); err != nil {
			return workflows.ConnectionSyncResult{}, err
		}
		ex := workflow.GetInfo(ctx).WorkflowExecution
		ran <- ex.ID + " " + in.ConnectionID + " " + ex.RunID
		return workflows.ConnectionSyncResult{ConnectionID: in.ConnectionID, Runs: 1}, nil
	}, workflow.RegisterOptions{Name: workflows.ConnectionSyncName})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return ran
}

// TestSchedule creates a connection's schedule (which starts a sync at once),
// describes it, triggers it, refuses to create it twice, and deletes it.
func TestSchedule(t *testing.T) {
	srv := testenv.StartTemporal(t, testenv.DevServerOptions{})
	c := srv.Client()
	ctx := context.Background()
	const queue = "starter-schedule-test"
	ran := standIn(t, c, queue)
	in := workflows.ConnectionSyncInput{ConnectionID: "sched", OrgSlug: "gh/acme", TokenEnv: "ACME_TOKEN"}
	sc := scheduleConfig{Input: in, Connection: "sched", TaskQueue: queue, Every: time.Hour, Jitter: time.Minute, Now: true}

	var out bytes.Buffer
	require.NoError(t, manageSchedule(ctx, c, "create", sc, &out))
	require.Contains(t, out.String(), "schedule_id=circleci-sync/sched\n")
	waitRun := func() string {
		select {
		case r := <-ran:
			return r
		case <-time.After(30 * time.Second):
			t.Fatal("the schedule started no sync")
			return ""
		}
	}
	first := waitRun()
	require.True(t, strings.HasPrefix(first, "circleci-sync/sched-"), "the schedule's workflow ID: %s", first)
	require.Contains(t, first, " sched ")

	d, err := c.ScheduleClient().GetHandle(ctx, workflows.ScheduleID("sched")).Describe(ctx)
	require.NoError(t, err)
	require.Equal(t, enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, d.Schedule.Policy.Overlap)
	act, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	require.True(t, ok)
	require.Equal(t, workflows.ConnectionSyncName, act.Workflow)
	require.Equal(t, queue, act.TaskQueue)
	require.Len(t, d.Schedule.Spec.Intervals, 1)
	require.Equal(t, time.Hour, d.Schedule.Spec.Intervals[0].Every)

	out.Reset()
	require.NoError(t, manageSchedule(ctx, c, "trigger", sc, &out))
	require.NotEqual(t, first, waitRun(), "a triggered sync is a new workflow run")

	out.Reset()
	require.NoError(t, manageSchedule(ctx, c, "describe", sc, &out))
	require.Contains(t, out.String(), "actions=")
	require.Contains(t, out.String(), "next=")

	err = manageSchedule(ctx, c, "create", sc, &out)
	require.ErrorContains(t, err, "exists already")

	require.NoError(t, manageSchedule(ctx, c, "delete", sc, &out))
	_, err = c.ScheduleClient().GetHandle(ctx, workflows.ScheduleID("sched")).Describe(ctx)
	require.Error(t, err)

	for _, bad := range []scheduleConfig{{Input: in, Connection: "x", Every: time.Second},
		{Input: in, Connection: "x", Every: time.Hour, Jitter: 2 * time.Hour}} {
		err := manageSchedule(ctx, c, "create", bad, &out)
		require.Equal(t, 2, exitCode(err), "%v", err)
	}
}

func TestScheduleBadArguments(t *testing.T) {
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1") // never reached
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"schedule"}, "want an action"},
		{[]string{"schedule", "pause", "-connection", "x"}, `unknown action "pause"`},
		{[]string{"schedule", "create"}, "-connection is required"},
		{[]string{"schedule", "create", "-connection", "x"}, "org_slug is required"},
		{[]string{"schedule", "create", "-connection", "x", "-org", "gh/x", "-continuous"}, "-continuous"},
		{[]string{"resync"}, "-connection is required"},
		{[]string{"resync", "-connection", "x", "-reason", strings.Repeat("r", 201)}, "at most 200"},
		{[]string{"keygen", "-id", "bad id"}, "id"},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), tc.args, &out, &errOut)
		require.Error(t, err, "%v", tc.args)
		require.Equal(t, 2, exitCode(err), "%v: %v", tc.args, err)
		require.Contains(t, err.Error(), tc.want, "%v", tc.args)
	}
}

func TestKeygen(t *testing.T) {
	var out, errOut bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"keygen", "-id", "k-2026"}, &out, &errOut))
	line := strings.TrimSpace(out.String())
	require.True(t, strings.HasPrefix(line, "k-2026="), line)
	require.Greater(t, len(line), len("k-2026=")+40)
}

// TestResyncCommand asks a stand-in sync that answers the resync Update; with
// -start (Update-with-Start) it starts one when none runs.
func TestResyncCommand(t *testing.T) {
	srv := testenv.StartTemporal(t, testenv.DevServerOptions{})
	c := srv.Client()
	const queue = "starter-resync-test"
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context, in workflows.ConnectionSyncInput) (workflows.ConnectionSyncResult, error) {
		asked := 0
		err := workflow.SetUpdateHandler(ctx, workflows.ResyncUpdate, func(ctx workflow.Context, req workflows.ResyncRequest) (workflows.ResyncResponse, error) {
			asked++
			return workflows.ResyncResponse{Cycle: 1, Status: workflows.ResyncIncluded, Pending: asked}, nil
		})
		if err != nil {
			return workflows.ConnectionSyncResult{}, err
		}
		_ = workflow.Await(ctx, func() bool { return asked > 0 })
		return workflows.ConnectionSyncResult{ConnectionID: in.ConnectionID}, nil
	}, workflow.RegisterOptions{Name: workflows.ConnectionSyncName})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	ctx := context.Background()
	in := workflows.ConnectionSyncInput{ConnectionID: "rs", OrgSlug: "gh/acme"}

	_, err := requestResync(ctx, c, "rs", workflows.ResyncRequest{}, in, false, queue)
	require.ErrorContains(t, err, "-start starts one", "no sync runs")
	res, err := requestResync(ctx, c, "rs", workflows.ResyncRequest{Reason: "test"}, in, true, queue)
	require.NoError(t, err)
	require.Equal(t, workflows.ResyncResponse{Cycle: 1, Status: workflows.ResyncIncluded, Pending: 1}, res)
	desc, err := c.DescribeWorkflow(ctx, workflows.ConnectionWorkflowID("rs"), "")
	require.NoError(t, err)
	summary, err := desc.GetStaticSummary()
	require.NoError(t, err)
	require.Equal(t, "CircleCI sync of gh/acme (connection rs)", summary)
}

// TestREADMETemporalCLISchedule runs the README's `temporal schedule create`
// command with the Temporal CLI: the schedule it creates starts ConnectionSync
// with an input ConnectionSync accepts, like `starter schedule create`.
func TestREADMETemporalCLISchedule(t *testing.T) {
	srv := testenv.StartTemporal(t, testenv.DevServerOptions{})
	args := readmeCommand(t, "temporal schedule create")
	cmd := exec.Command(testenv.TemporalCLI(t), append(args, "--address", srv.FrontendHostPort(), "--namespace", "default")...)
	cmd.Env = append(os.Environ(), "TEMPORAL_CONFIG_FILE="+t.TempDir()+"/none.toml")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "temporal %s\n%s", strings.Join(args, " "), out)
	var id string
	for i, a := range args {
		if a == "--schedule-id" && i+1 < len(args) {
			id = args[i+1]
		}
	}
	ctx := context.Background()
	d, err := srv.Client().ScheduleClient().GetHandle(ctx, id).Describe(ctx)
	require.NoError(t, err)
	act, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	require.True(t, ok)
	require.Equal(t, workflows.ConnectionSyncName, act.Workflow)
	require.Equal(t, workflows.DefaultTaskQueue, act.TaskQueue)
	require.Equal(t, enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, d.Schedule.Policy.Overlap)
	require.Len(t, act.Args, 1)
	var in workflows.ConnectionSyncInput
	payload, ok := act.Args[0].(*commonpb.Payload)
	require.True(t, ok, "schedule args are payloads: %T", act.Args[0])
	var raw json.RawMessage
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(payload, &raw))
	require.NoError(t, json.Unmarshal(raw, &in))
	require.NoError(t, in.Validate())
	require.Equal(t, workflows.ScheduleID(in.ConnectionID), id)
	require.True(t, strings.HasPrefix(act.ID, workflows.ConnectionWorkflowID(in.ConnectionID)))
}
