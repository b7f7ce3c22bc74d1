package receiver

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/internal/testenv"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// stubConnectionSync stands in for ConnectionSync's targets Update until the
// workflow side lands: it records the requests and ends after want of them.
func stubConnectionSync(want int) func(workflow.Context, workflows.ConnectionSyncInput) ([]string, error) {
	return func(ctx workflow.Context, _ workflows.ConnectionSyncInput) ([]string, error) {
		var got []string
		err := workflow.SetUpdateHandler(ctx, workflows.TargetsUpdate,
			func(_ workflow.Context, req workflows.TargetRequest) (workflows.TargetResult, error) {
				got = append(got, req.EventID)
				return workflows.TargetResult{Status: workflows.TargetQueued, Pending: len(got)}, nil
			})
		if err != nil {
			return nil, err
		}
		err = workflow.Await(ctx, func() bool { return len(got) >= want && workflow.AllHandlersFinished(ctx) })
		return got, err
	}
}

// TestTemporalDeduplicates: against a dev server, replays of an event make one
// Update, and a stopped connection is started by its first event.
func TestTemporalDeduplicates(t *testing.T) {
	srv := testenv.StartTemporal(t, testenv.DevServerOptions{})
	c, err := client.Dial(client.Options{HostPort: srv.FrontendHostPort()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w := worker.New(c, "webhook-test", worker.Options{})
	w.RegisterWorkflowWithOptions(stubConnectionSync(2), workflow.RegisterOptions{Name: workflows.ConnectionSyncName})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	r := newReceiver(t, Options{Handoff: Temporal{Client: c, TaskQueue: "webhook-test"}})
	for i, id := range []string{"e-1", "e-1", "e-1", "e-2"} {
		start := time.Now()
		if resp := r.post(t, "/circleci/acme", event(id, "github/acme/api"), nil); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("delivery %d (%s): %d", i, id, resp.StatusCode)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("delivery %d answered after %v", i, d)
		}
	}
	var got []string
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.GetWorkflow(ctx, workflows.ConnectionWorkflowID("acme"), "").Get(ctx, &got); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[e-1 e-2]" {
		t.Errorf("the workflow saw %v, want [e-1 e-2]", got)
	}
}
