package circleci

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// RequestStats adds up the cost of the requests made under a context (attach it with
// WithRequestStats): requests, 429s, time waited for the limiter. Safe for concurrent
// use; the zero value is ready.
type RequestStats struct {
	requests     atomic.Int64
	rateLimited  atomic.Int64
	serverErrors atomic.Int64
	waitNanos    atomic.Int64

	mu      sync.Mutex
	waiting int       // requests waiting for the limiter now
	since   time.Time // when the first of them began
	held    time.Duration
}

// ServerErrors is the number of requests CircleCI answered 5xx (retried or not).
func (s *RequestStats) ServerErrors() int64 { return s.serverErrors.Load() }

// Held is the wall time during which at least one request waited for the
// limiter: concurrent waits count once (Wait adds them up).
func (s *RequestStats) Held() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.waiting > 0 {
		return s.held + time.Since(s.since)
	}
	return s.held
}

// beginWait counts a request waiting from start; the function returned ends
// its wait. Nil-safe.
func (s *RequestStats) beginWait(start time.Time) func() {
	if s == nil {
		return func() {}
	}
	s.mu.Lock()
	if s.waiting == 0 {
		s.since = start
	}
	s.waiting++
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.waiting--; s.waiting == 0 {
			if d := time.Since(s.since); d >= minObservedWait {
				s.held += d
			}
		}
	}
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

// WithRequestStats returns a context whose Client calls count in s (replacing any
// RequestStats of ctx).
func WithRequestStats(ctx context.Context, s *RequestStats) context.Context {
	return context.WithValue(ctx, statsKey{}, s)
}

// requestStats returns the RequestStats of ctx, or nil.
func requestStats(ctx context.Context) *RequestStats {
	s, _ := ctx.Value(statsKey{}).(*RequestStats)
	return s
}

// WaitObserver is an Observer also told how long each request waited for the limiter.
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
	switch {
	case status == 429:
		s.rateLimited.Add(1)
	case status >= 500:
		s.serverErrors.Add(1)
	}
}
