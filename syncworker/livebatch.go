package syncworker

import (
	"context"
	"sync"
	"time"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// LiveGather is how long the worker gathers the live reports bound for one
// connection workflow before it signals them as one: its projects' activities
// report at the same slot start (activities.DefaultReportEvery), and one signal
// costs the connection's history one event, not one a project.
const LiveGather = 150 * time.Millisecond

// liveBatcher gathers the reports bound for a workflow run within `gather` and
// sends them as one LiveProgress (Batch set when more than one).
type liveBatcher struct {
	gather time.Duration
	send   func(ctx context.Context, to liveRun, p activities.LiveProgress) error

	mu   sync.Mutex
	open map[liveRun]*liveBatch
}

// liveRun is the connection workflow run a batch goes to (RunID "": its
// current run).
type liveRun struct{ ConnectionID, RunID string }

// workflowID is the connection's workflow ID.
func (r liveRun) workflowID() string { return workflows.ConnectionWorkflowID(r.ConnectionID) }

// liveBatch is the reports gathered for one workflow and the outcome of their send.
type liveBatch struct {
	reports []activities.LiveProgress
	done    chan struct{}
	err     error
}

// add joins p to the run's open batch (opening one) and waits for its send.
func (b *liveBatcher) add(ctx context.Context, to liveRun, p activities.LiveProgress) error {
	b.mu.Lock()
	batch := b.open[to]
	if batch == nil {
		batch = &liveBatch{done: make(chan struct{})}
		if b.open == nil {
			b.open = map[liveRun]*liveBatch{}
		}
		b.open[to] = batch
		time.AfterFunc(b.gather, func() { b.flush(to, batch) })
	}
	batch.reports = append(batch.reports, p)
	b.mu.Unlock()
	select {
	case <-batch.done:
		return batch.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flush closes the batch and sends it.
func (b *liveBatcher) flush(to liveRun, batch *liveBatch) {
	b.mu.Lock()
	delete(b.open, to)
	reports := batch.reports
	b.mu.Unlock()
	p := reports[0]
	if len(reports) > 1 {
		p = activities.LiveProgress{Batch: reports}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	batch.err = b.send(ctx, to, p)
	close(batch.done)
}
