package activities

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
)

// heartbeater records an activity's heartbeat details, and records the latest
// again on demand (while waiting), from any goroutine.
type heartbeater struct {
	ctx     context.Context
	mu      sync.Mutex
	details any
}

// keepAliveInterval is how often a heartbeater re-sends its details, so an
// activity waiting on the limiter meets its heartbeat timeout. A variable for tests.
var keepAliveInterval = 5 * time.Second

// newHeartbeater returns a heartbeater of initial, re-sent every
// keepAliveInterval until the stop function is called.
func newHeartbeater(ctx context.Context, initial any) (*heartbeater, func()) {
	h := &heartbeater{ctx: ctx, details: initial}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(keepAliveInterval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				h.beat()
			case <-done:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	var once sync.Once
	return h, func() { once.Do(func() { close(done); <-stopped }) }
}

// record makes d the current details and heartbeats them.
func (h *heartbeater) record(d any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.details = d
	if activity.IsActivity(h.ctx) {
		activity.RecordHeartbeat(h.ctx, d)
	}
}

// set makes d the current details, sent by the next keep-alive.
func (h *heartbeater) set(d any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.details = d
}

// beat heartbeats the current details again.
func (h *heartbeater) beat() {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if activity.IsActivity(h.ctx) {
		activity.RecordHeartbeat(h.ctx, h.details)
	}
}
