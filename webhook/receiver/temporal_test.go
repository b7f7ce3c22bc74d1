package receiver

import (
	"context"
	"fmt"
	"net/http"
	"strings"
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

// startStub starts a dev server and a worker running wf as ConnectionSync.
func startStub(t *testing.T, wf any) client.Client {
	srv := testenv.StartTemporal(t, testenv.DevServerOptions{})
	c, err := client.Dial(client.Options{HostPort: srv.FrontendHostPort()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	w := worker.New(c, "webhook-test", worker.Options{})
	w.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: workflows.ConnectionSyncName})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return c
}

// TestTemporalDeduplicates: against a dev server, replays of an event make one
// Update, and a stopped connection is started by its first event.
func TestTemporalDeduplicates(t *testing.T) {
	c := startStub(t, stubConnectionSync(2))
	// A loaded machine may outlast the 900 ms of production (answered 503,
	// the unit tests' subject): this test is about deduplication.
	r := newReceiver(t, Options{Handoff: Temporal{Client: c, TaskQueue: "webhook-test"}, HandoffTimeout: 10 * time.Second})
	for i, id := range []string{"e-1", "e-1", "e-1", "e-2"} {
		if resp := r.post(t, "/circleci/acme", event(id, "github/acme/api"), nil); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("delivery %d (%s): %d", i, id, resp.StatusCode)
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

// TestTemporalRejected: a ConnectionSync without the targets Update (a worker
// older than the receiver) rejects it; the answer is 503, so that CircleCI
// retries once the worker has it.
func TestTemporalRejected(t *testing.T) {
	c := startStub(t, func(ctx workflow.Context, _ workflows.ConnectionSyncInput) error {
		return workflow.Sleep(ctx, time.Hour)
	})
	r := newReceiver(t, Options{Handoff: Temporal{Client: c, TaskQueue: "webhook-test"}, HandoffTimeout: 10 * time.Second})
	if resp := r.post(t, "/circleci/acme", event("e-1", "github/acme/api"), nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("rejected Update: %d, want 503", resp.StatusCode)
	}
	if !strings.Contains(r.logs.String(), "unknown update") {
		t.Errorf("the log does not say why: %s", r.logs.String())
	}
}
