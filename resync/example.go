package resync

import (
	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/workflows"
)

// ExampleName is the registered name of Example.
const ExampleName = "SyncThenResync"

// ExampleInput is Example's input.
type ExampleInput struct {
	// Sync is the connection to sync.
	Sync workflows.ConnectionSyncInput `json:"sync"`
	// Options tune the helpers.
	Options Options `json:"options"`
}

// ExampleResult is Example's result.
type ExampleResult struct {
	// Synced is the result of the sync run as a child.
	Synced workflows.ConnectionSyncResult `json:"synced"`
	// Resync is the resync Update's answer.
	Resync workflows.ResyncResponse `json:"resync"`
}

// Example is a workflow of another team's that uses both helpers: it runs the
// connection's sync as its child and waits for the result (say, before building
// a report from the database), then asks for a re-sync through the resync
// Update. The child has ended by then, so the request starts a new sync of the
// connection, whose first cycle includes it (ResyncIncluded, cycle 1); had a
// sync been running, the answer would name its next cycle. Register it on any
// worker of the namespace; the circleci-sync worker runs the rest.
func Example(ctx workflow.Context, in ExampleInput) (ExampleResult, error) {
	var out ExampleResult
	synced, err := RunAsChild(ctx, in.Sync, in.Options)
	if err != nil {
		return out, err
	}
	out.Synced = synced
	out.Resync, err = Request(ctx, in.Sync, workflows.ResyncRequest{Reason: "requested by " + ExampleName}, in.Options)
	return out, err
}
