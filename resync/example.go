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

// Example is another team's workflow: it runs the connection's sync as a child and
// waits (say, before a report), then asks for a re-sync, which starts a new sync whose
// first cycle includes it. Register it on any worker of the namespace.
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
