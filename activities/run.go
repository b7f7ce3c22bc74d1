package activities

import (
	"context"

	"go.temporal.io/sdk/log"

	"github.com/circleci-sync/circleci-sync/store"
)

// activityRun is one activity run: its heartbeats, its CircleCI client, the counts an
// earlier attempt reached (from its heartbeat) and the progress it heartbeats.
type activityRun struct {
	a    *Activities
	conn Connection
	log  log.Logger
	hb   *heartbeater
	stop func()
	api  *client // nil until connect
	// snapshot returns the current progress (a value: the heartbeat keeps it);
	// counts points into it.
	snapshot func() any
	counts   *SyncCounts
	base     SyncCounts
	live     *liveReporter // nil: no live progress (reportAs)
}

// startRun starts heartbeating snapshot() (nil details when nil) at once: a
// request may wait minutes for the token's limiter, and the keep-alive holds the
// heartbeat meanwhile. The caller defers r.stop.
func (a *Activities) startRun(ctx context.Context, conn Connection, counts *SyncCounts, snapshot func() any) *activityRun {
	r := &activityRun{a: a, conn: conn, log: logger(ctx, conn), snapshot: snapshot, counts: counts}
	if counts != nil {
		r.base = *counts
	}
	var initial any
	if snapshot != nil {
		initial = snapshot()
	}
	r.hb, r.stop = newHeartbeater(ctx, initial)
	return r
}

// connect builds the run's CircleCI client.
func (r *activityRun) connect(ctx context.Context) error {
	api, err := r.a.newClient(ctx, r.conn)
	if err != nil {
		return err
	}
	api.hb = r.hb
	r.api = api
	return nil
}

// commit writes b in one transaction, adds it to the counts, lets advance move
// the progress past it, and heartbeats the progress.
func (r *activityRun) commit(ctx context.Context, b store.Batch, advance func()) error {
	ws, err := r.a.write(ctx, b)
	if err != nil {
		return err
	}
	r.counts.addBatch(b, ws)
	if advance != nil {
		advance()
	}
	r.checkpoint()
	return nil
}

// checkpoint brings the request figures up to date and heartbeats the progress.
func (r *activityRun) checkpoint() {
	r.fill()
	r.hb.record(r.snapshot())
	if r.counts != nil {
		r.live.update(LiveProgress{Counts: *r.counts})
	}
}

// fill brings the counts' request figures up to date.
func (r *activityRun) fill() {
	if r.api != nil {
		r.api.fillRequests(r.counts, r.base)
	}
}

// BatchObserver is told about every batch written, concurrently: it must be quick.
type BatchObserver interface {
	ObserveBatch(b store.Batch, ws store.WriteStats)
}

// write writes b in one transaction and tells the Observer.
func (a *Activities) write(ctx context.Context, b store.Batch) (store.WriteStats, error) {
	ws, err := a.Store.WriteBatch(ctx, b)
	if err == nil && a.Observer != nil {
		a.Observer.ObserveBatch(b, ws)
	}
	return ws, err
}
