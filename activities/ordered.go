package activities

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
)

// runOrdered runs work for the items 0..n-1 concurrently, starting them in order
// with at most window started and not yet committed, and hands their results to
// commit in order: each call gets the longest run of consecutive results ready,
// from index from. The first error (of work, in item order, or of commit) stops
// everything: the items committed so far stay committed, the others are dropped.
// runOrdered returns only once every work call has returned.
func runOrdered[T any](ctx context.Context, n, window int,
	work func(ctx context.Context, i int) (T, error), commit func(from int, vals []T) error,
) error {
	if n <= 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	type result struct {
		v   T
		err error
	}
	results := make([]chan result, n)
	for i := range results {
		results[i] = make(chan result, 1)
	}
	slots := make(chan struct{}, max(1, window))
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < n; i++ {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				for ; i < n; i++ {
					results[i] <- result{err: ctx.Err()}
				}
				return
			}
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				v, err := work(ctx, i)
				results[i] <- result{v: v, err: err}
			}(i)
		}
	}()
	for i := 0; i < n; {
		r := <-results[i]
		if r.err != nil {
			return r.err
		}
		from := i
		vals := []T{r.v}
		i++
		var pending error
	greedy:
		for i < n {
			select {
			case r := <-results[i]:
				if r.err != nil {
					pending = r.err
					break greedy
				}
				vals = append(vals, r.v)
				i++
			default:
				break greedy
			}
		}
		for range vals {
			<-slots
		}
		if err := commit(from, vals); err != nil {
			return err
		}
		if pending != nil {
			return pending
		}
	}
	return nil
}

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
