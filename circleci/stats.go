package circleci

import (
	"context"
	"sync/atomic"
	"time"
)

// RequestStats adds up what the requests sent under a context cost: how many went
// out, how many CircleCI answered 429, and how long they waited for the limiter
// (its rate, its concurrency cap and the pause after a 429). Attach one to a
// context with WithRequestStats; every Client call made with that context (or a
// context derived from it) counts in it. It is safe for concurrent use, and its
// zero value is ready.
type RequestStats struct {
	requests    atomic.Int64
	rateLimited atomic.Int64
	waitNanos   atomic.Int64
}

// Requests is the number of HTTP requests sent (retries by the caller included;
// a request that never left the limiter is not counted).
func (s *RequestStats) Requests() int64 { return s.requests.Load() }

// RateLimited is the number of requests CircleCI answered 429.
func (s *RequestStats) RateLimited() int64 { return s.rateLimited.Load() }

// Wait is the time the requests spent waiting for the limiter, added up over
// concurrent requests.
func (s *RequestStats) Wait() time.Duration { return time.Duration(s.waitNanos.Load()) }

// statsKey is the context key of a *RequestStats.
type statsKey struct{}

// WithRequestStats returns a context whose Client calls count in s. A context
// holds one RequestStats: a later WithRequestStats replaces it for the derived
// context.
func WithRequestStats(ctx context.Context, s *RequestStats) context.Context {
	return context.WithValue(ctx, statsKey{}, s)
}

// requestStats returns the RequestStats of ctx, or nil.
func requestStats(ctx context.Context) *RequestStats {
	s, _ := ctx.Value(statsKey{}).(*RequestStats)
	return s
}

// WaitObserver is an optional extension of Observer: an Observer that also
// implements it is told how long each request waited for the limiter before it was
// sent (zero when it did not wait). route is the route template. It is called
// concurrently and must be quick.
type WaitObserver interface {
	ObserveWait(route string, d time.Duration)
}

// minObservedWait is the shortest limiter wait counted as waiting: acquiring a free
// slot and token takes microseconds.
const minObservedWait = time.Millisecond

// recordWait adds a request's limiter wait to ctx's RequestStats and tells the
// client's WaitObserver, if any.
func (c *Client) recordWait(ctx context.Context, route string, d time.Duration) {
	if d < minObservedWait {
		d = 0
	}
	if s := requestStats(ctx); s != nil && d > 0 {
		s.waitNanos.Add(int64(d))
	}
	if wo, ok := c.observer.(WaitObserver); ok {
		wo.ObserveWait(route, d)
	}
}

// recordSent counts a request that left, and its 429, in ctx's RequestStats.
func recordSent(ctx context.Context, status int) {
	s := requestStats(ctx)
	if s == nil {
		return
	}
	s.requests.Add(1)
	if status == 429 {
		s.rateLimited.Add(1)
	}
}
