package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/circleci-sync/circleci-sync/codec"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// resyncFlags are the resync subcommand's own flags.
type resyncFlags struct {
	reason string
	start  bool
}

// runResync sends the resync Update and prints the cycle that includes the request;
// -start starts the sync when none runs.
func runResync(ctx context.Context, o options, stdout, stderr io.Writer) error {
	conn := strings.TrimSpace(o.start.connection)
	if conn == "" {
		return usageError{errors.New("resync: -connection is required")}
	}
	req := workflows.ResyncRequest{Reason: o.resync.reason}
	if err := req.Validate(); err != nil {
		return usageError{err}
	}
	in := o.start.input()
	if o.resync.start {
		if err := validateInput(in); err != nil {
			return err
		}
	}
	c, _, err := dial(ctx, o.timeout, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	rctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	res, err := requestResync(rctx, c, conn, req, in, o.resync.start, strings.TrimSpace(o.start.taskQueue))
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", b)
	return err
}

// requestResync sends the resync Update to conn's sync (with start, Update-with-Start).
func requestResync(ctx context.Context, c client.Client, conn string, req workflows.ResyncRequest,
	in workflows.ConnectionSyncInput, start bool, taskQueue string,
) (workflows.ResyncResponse, error) {
	id := workflows.ConnectionWorkflowID(conn)
	uo := client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: workflows.ResyncUpdate, Args: []any{req},
		WaitForStage: client.WorkflowUpdateStageCompleted}
	var h client.WorkflowUpdateHandle
	var err error
	if start {
		op := c.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
			ID: id, TaskQueue: taskQueue,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			StaticSummary:            workflows.ConnectionSummary(in),
			StaticDetails:            workflows.ConnectionDetails(in, "starter resync -start"),
			Priority:                 workflows.SyncPriority(conn, workflows.PriorityIncremental),
		}, workflows.ConnectionSyncName, in)
		h, err = c.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
			StartWorkflowOperation: op, UpdateOptions: uo})
	} else {
		h, err = c.UpdateWorkflow(ctx, uo)
	}
	if err != nil {
		return workflows.ResyncResponse{}, fmt.Errorf("resync %s (is a sync of connection %s running? -start starts one): %w",
			id, conn, err)
	}
	var res workflows.ResyncResponse
	if err := h.Get(ctx, &res); err != nil {
		return res, fmt.Errorf("resync %s: %w", id, err)
	}
	return res, nil
}

// runKeygen prints a new payload encryption key entry, "id=base64key".
func runKeygen(id string, out io.Writer) error {
	line, err := codec.NewKeyLine(id)
	if err != nil {
		return usageError{err}
	}
	_, err = fmt.Fprintln(out, line)
	return err
}
