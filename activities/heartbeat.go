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

// keepAliveInterval is how often a heartbeater re-sends its details while the
// activity waits (on the rate limiter, a Retry-After pause, a slow response), so a
// live activity never misses its heartbeat timeout. The SDK throttles the actual
// sends to 0.8 x the heartbeat timeout. A variable for tests only.
var keepAliveInterval = 5 * time.Second

// newHeartbeater returns a heartbeater whose current details are initial, and a
// stop function. Until stop is called it heartbeats the current details every
// keepAliveInterval. Activities start it before their first request or store
// query: a request may wait minutes for the shared rate limiter (after a 429 it
// pauses every caller of the token), and the keep-alive is what keeps such a
// wait within the heartbeat timeout.
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

// set makes d the current details without heartbeating them: the keep-alive
// ticker sends them next.
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
