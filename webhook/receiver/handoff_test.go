package receiver

import (
	"context"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/circleci-sync/circleci-sync/circleci/webhooks"
	"github.com/circleci-sync/circleci-sync/workflows"
)

func TestTemporalHandoff(t *testing.T) {
	f := &fakeTemporal{}
	h := Temporal{Client: f, TaskQueue: "q"}
	in := workflows.ConnectionSyncInput{ConnectionID: "acme", OrgSlug: "gh/acme", Continuous: true}
	req := workflows.TargetRequest{EventID: "e1", Type: "workflow-completed", ProjectSlug: "gh/acme/api",
		PipelineID: "0b1c2d3e-0000-4000-8000-0000000000e1", WorkflowID: "0b1c2d3e-0000-4000-8000-0000000000f1"}
	for i := range 3 { // CircleCI's retries and duplicates
		res, err := h.Handoff(context.Background(), in, req)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != workflows.TargetQueued || res.Pending != 1 {
			t.Errorf("hand-off %d: %+v, want the first one's outcome", i, res)
		}
	}
	if f.calls != 3 || len(f.updates) != 1 || len(f.workflows) != 1 {
		t.Fatalf("calls %d, updates %d, workflows %d; want 3, 1, 1", f.calls, len(f.updates), len(f.workflows))
	}
	u := f.updates["circleci-event/e1"].opts
	if u.UpdateName != workflows.TargetsUpdate || u.WaitForStage != client.WorkflowUpdateStageCompleted ||
		len(u.Args) != 1 || u.Args[0] != req {
		t.Errorf("update options %+v", u)
	}
	s := f.starts[0]
	if s.ID != "circleci-sync/acme" || s.TaskQueue != "q" ||
		s.WorkflowIDConflictPolicy != enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING {
		t.Errorf("start options %+v", s)
	}
	start, ok := f.inputs[0].(workflows.ConnectionSyncInput)
	if !ok || start.Continuous || !start.TargetsOnly || start.ConnectionID != "acme" || start.OrgSlug != "gh/acme" {
		t.Errorf("start input %+v", f.inputs[0])
	}
	if !in.Continuous {
		t.Error("StartInput changed the caller's input")
	}
}

func TestTargetRequestSize(t *testing.T) {
	// The largest request the receiver sends: webhooks.Parse bounds the id and
	// the slug (here all control characters, escaped in JSON) and the UUIDs.
	req := workflows.TargetRequest{EventID: strings.Repeat("a", 64), Type: "workflow-completed",
		ProjectSlug: strings.Repeat("\x01", webhooks.MaxSlugBytes), PipelineID: strings.Repeat("a", 36), WorkflowID: strings.Repeat("a", 36)}
	if n := len(mustJSON(t, req)); n > workflows.MaxTargetRequestBytes {
		t.Errorf("a request of %d bytes exceeds MaxTargetRequestBytes", n)
	}
}
