package receiver

import (
	"context"
	"sync"

	"go.temporal.io/sdk/client"

	"github.com/circleci-sync/circleci-sync/workflows"
)

// fakeHandoff records hand-offs; err or block make it fail.
type fakeHandoff struct {
	mu    sync.Mutex
	calls []workflows.TargetRequest
	err   error
	block bool
	dup   bool // answer TargetDuplicate (the workflow's own deduplication)
}

func (f *fakeHandoff) Handoff(ctx context.Context, _ workflows.ConnectionSyncInput, req workflows.TargetRequest) (workflows.TargetResult, error) {
	if f.block {
		<-ctx.Done()
		return workflows.TargetResult{}, ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, req)
	if f.dup {
		return workflows.TargetResult{Status: workflows.TargetDuplicate}, f.err
	}
	return workflows.TargetResult{Status: workflows.TargetQueued, Pending: len(f.calls)}, f.err
}

func (f *fakeHandoff) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// fakeTemporal is an UpdateWithStarter that, like the server, keeps one
// Update per Update ID and one workflow per workflow ID.
type fakeTemporal struct {
	mu        sync.Mutex
	starts    []client.StartWorkflowOptions
	inputs    []any
	updates   map[string]fakeUpdate
	calls     int
	workflows map[string]bool
}

type fakeUpdate struct {
	opts client.UpdateWorkflowOptions
	res  workflows.TargetResult
}

type fakeStartOp struct {
	client.WithStartWorkflowOperation
}

func (f *fakeTemporal) NewWithStartWorkflowOperation(opts client.StartWorkflowOptions, wf any, args ...any) client.WithStartWorkflowOperation {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts = append(f.starts, opts)
	f.inputs = append(f.inputs, args...)
	return fakeStartOp{}
}

func (f *fakeTemporal) UpdateWithStartWorkflow(_ context.Context, opts client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.updates == nil {
		f.updates, f.workflows = map[string]fakeUpdate{}, map[string]bool{}
	}
	f.calls++
	f.workflows[f.starts[len(f.starts)-1].ID] = true
	// The server answers a known Update ID with that Update's outcome.
	u, dup := f.updates[opts.UpdateOptions.UpdateID]
	if !dup {
		u = fakeUpdate{opts.UpdateOptions, workflows.TargetResult{Status: workflows.TargetQueued, Pending: len(f.updates) + 1}}
		f.updates[opts.UpdateOptions.UpdateID] = u
	}
	res := u.res
	return fakeUpdateHandle{res: res}, nil
}

// fakeUpdateHandle is a completed Update's handle.
type fakeUpdateHandle struct {
	client.WorkflowUpdateHandle
	res workflows.TargetResult
}

func (h fakeUpdateHandle) Get(_ context.Context, v any) error {
	*v.(*workflows.TargetResult) = h.res
	return nil
}
