package circleci

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gate is a handler that holds every request until opened, counting how many are
// held at once.
type gate struct {
	open    chan struct{}
	current atomic.Int64
	peak    atomic.Int64
	total   atomic.Int64
}

func newGate() *gate { return &gate{open: make(chan struct{})} }

func (g *gate) handler(w http.ResponseWriter, r *http.Request) {
	n := g.current.Add(1)
	for {
		p := g.peak.Load()
		if n <= p || g.peak.CompareAndSwap(p, n) {
			break
		}
	}
	g.total.Add(1)
	select {
	case <-g.open:
	case <-r.Context().Done():
	}
	g.current.Add(-1)
	jsonBody(200, userJSON)(w, r)
}

// runAll calls call n times concurrently and returns a wait func for the errors.
func runAll(n int, call func() error) func() []error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = call()
		}()
	}
	return func() []error { wg.Wait(); return errs }
}

func TestLimiterDefaults(t *testing.T) {
	l := NewLimiter(LimiterOptions{RequestsPerSecond: math.NaN(), Burst: -1})
	assert.Equal(t, LimiterOptions{RequestsPerSecond: 0, Burst: 10, MaxConcurrent: 16}, l.Options())
	assert.True(t, math.IsInf(l.Rate(), 1), "no ceiling: the pace is learned")
	assert.True(t, math.IsInf(l.Pace(), 1), "nothing learned yet")
	assert.Zero(t, l.InFlight())
	assert.True(t, l.PausedUntil().IsZero())
}

func TestLimiterConcurrencyCap(t *testing.T) {
	g := newGate()
	lim := NewLimiter(LimiterOptions{RequestsPerSecond: math.Inf(1), Burst: 1, MaxConcurrent: 3})
	c, _, _ := newTestClient(t, g.handler, func(o *Options) { o.Limiter = lim })

	wait := runAll(20, func() error { _, err := c.Me(context.Background()); return err })
	require.Eventually(t, func() bool { return g.current.Load() == 3 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, 3, lim.InFlight())
	close(g.open)
	for _, err := range wait() {
		require.NoError(t, err)
	}
	assert.Equal(t, int64(3), g.peak.Load(), "the cap is reached and never exceeded")
	assert.Equal(t, int64(20), g.total.Load())
	assert.Zero(t, lim.InFlight(), "every slot released")
}

func TestSharedLimiterPerToken(t *testing.T) {
	g := newGate()
	_, _, srv := newTestClient(t, g.handler)
	forgetShared(t, srv.URL, testToken, "another-token")
	opts := LimiterOptions{RequestsPerSecond: math.Inf(1), Burst: 1, MaxConcurrent: 2}
	// The first call creates the shared limiter with opts; the clients get it by default.
	shared := SharedLimiter(srv.URL, testToken, opts)
	other := SharedLimiter(srv.URL+"/", "another-token", opts)

	c1, err := New(Options{BaseURL: srv.URL, Token: testToken})
	require.NoError(t, err)
	c2, err := New(Options{BaseURL: srv.URL + "/api/v2", Token: testToken + "\n"})
	require.NoError(t, err)
	c3, err := New(Options{BaseURL: srv.URL, Token: "another-token"})
	require.NoError(t, err)

	assert.Same(t, shared, c1.Limiter())
	assert.Same(t, shared, c2.Limiter(), "same base URL and token share one limiter")
	assert.Same(t, other, c3.Limiter())
	assert.NotSame(t, c1.Limiter(), c3.Limiter(), "another token has its own")
	assert.Same(t, shared, SharedLimiter(srv.URL, testToken, LimiterOptions{MaxConcurrent: 99}), "later options are ignored")
	assert.Equal(t, 2, shared.Options().MaxConcurrent)

	ctx := context.Background()
	w1 := runAll(4, func() error { _, err := c1.Me(ctx); return err })
	w2 := runAll(4, func() error { _, err := c2.Me(ctx); return err })
	// Two clients of one token: 2 in flight in all. The other token adds its own 2.
	require.Eventually(t, func() bool { return shared.InFlight() == 2 && g.current.Load() == 2 }, 5*time.Second, time.Millisecond)
	w3 := runAll(4, func() error { _, err := c3.Me(ctx); return err })
	require.Eventually(t, func() bool { return g.current.Load() == 4 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, 2, shared.InFlight())
	assert.Equal(t, 2, other.InFlight())
	close(g.open)
	for _, err := range append(append(w1(), w2()...), w3()...) {
		require.NoError(t, err)
	}
	assert.Equal(t, int64(4), g.peak.Load())
	assert.Equal(t, int64(12), g.total.Load())
}

func TestSharedLimiterKeyHasNoToken(t *testing.T) {
	forgetShared(t, "https://key-test.example", testToken)
	SharedLimiter("https://key-test.example", testToken, LimiterOptions{})
	sum := sha256.Sum256([]byte(testToken))
	sharedMu.Lock()
	defer sharedMu.Unlock()
	var found bool
	for key := range sharedLimiters {
		assert.NotContains(t, key, testToken)
		assert.NotContains(t, key, "S3CRET")
		if key == "https://key-test.example "+hex.EncodeToString(sum[:]) {
			found = true
		}
	}
	assert.True(t, found)
}

func TestLimiterProactiveSlowdown(t *testing.T) {
	now := time.Date(2025, 9, 30, 12, 0, 0, 0, time.UTC)
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	l := NewLimiter(LimiterOptions{RequestsPerSecond: 10, Burst: 10})

	l.observe(hdr(), 200, 0, now)
	assert.Equal(t, 10.0, l.Rate(), "no headers, no change")

	l.observe(hdr("RateLimit-Limit", "100", "RateLimit-Remaining", "50", "RateLimit-Reset", "10"), 200, 0, now)
	assert.Equal(t, 10.0, l.Rate(), "plenty left")

	l.observe(hdr("RateLimit-Limit", "100", "RateLimit-Remaining", "5", "RateLimit-Reset", "10"), 200, 0, now)
	assert.InDelta(t, 0.5, l.Rate(), 1e-9, "5 requests spread over 10 s")
	assert.Equal(t, 1, l.rl.Burst())

	l.observe(hdr("X-RateLimit-Limit", "100", "X-RateLimit-Remaining", "60"), 200, 0, now)
	assert.Equal(t, 10.0, l.Rate(), "restored when the headers show room again")
	assert.Equal(t, 10, l.rl.Burst())

	l.observe(hdr("RateLimit-Remaining", "80", "X-RateLimit-Remaining", "4", "X-RateLimit-Reset", "2"), 200, 0, now)
	assert.InDelta(t, 2.0, l.Rate(), 1e-9, "the lower of both families counts; no limit header means under 10 is low")

	l.observe(hdr("RateLimit-Remaining", "3"), 200, 0, now)
	assert.InDelta(t, 3.0, l.Rate(), 1e-9, "no reset: scaled by what is left")

	l.observe(hdr("RateLimit-Limit", "100, 100;w=60", "RateLimit-Remaining", "1", "RateLimit-Reset", "1000"), 200, 0, now)
	assert.InDelta(t, minSlowRate, l.Rate(), 1e-9, "never below the floor")

	l.observe(hdr("RateLimit-Limit", "100", "RateLimit-Remaining", "9", "RateLimit-Reset", "0.5"), 200, 0, now)
	assert.Equal(t, 10.0, l.Rate(), "never above the configured rate")

	l.observe(hdr("RateLimit-Remaining", "0", "RateLimit-Reset", "20"), 200, 0, now)
	assert.InDelta(t, minSlowRate, l.Rate(), 1e-9)
	assert.Equal(t, now.Add(20*time.Second), l.PausedUntil(), "an exhausted budget pauses until the reset")

	l.observe(hdr("RateLimit-Remaining", "500"), 200, 0, now)
	assert.Equal(t, 10.0, l.Rate())

	// An exhausted budget with a short reset pauses until the reset, and the next
	// token comes at the reset, not 1/minSlowRate (20 s) after it.
	l = NewLimiter(LimiterOptions{RequestsPerSecond: 100, Burst: 10})
	l.observe(hdr("RateLimit-Limit", "10", "RateLimit-Remaining", "0", "RateLimit-Reset", "1"), 200, 0, now)
	assert.Equal(t, now.Add(time.Second), l.PausedUntil())
	assert.InDelta(t, 1.0, l.Rate(), 1e-9)
	assert.InDelta(t, 1.0, l.rl.TokensAt(time.Now().Add(time.Second)), 0.01, "a token is ready at the reset")
}

func TestLimiterSlowdownFromResponses(t *testing.T) {
	remaining := "2"
	var mu sync.Mutex
	lim := NewLimiter(LimiterOptions{RequestsPerSecond: 1000, Burst: 100})
	c, _, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		w.Header().Set("RateLimit-Limit", "100")
		w.Header().Set("RateLimit-Remaining", remaining)
		w.Header().Set("RateLimit-Reset", "4")
		mu.Unlock()
		jsonBody(200, userJSON)(w, r)
	}, func(o *Options) { o.Limiter = lim })
	_, err := c.Me(context.Background())
	require.NoError(t, err)
	assert.InDelta(t, 0.5, lim.Rate(), 1e-9)

	mu.Lock()
	remaining = "90"
	mu.Unlock()
	// The slowed limiter has a token left from its burst of 1 only after 2 s; a
	// deadline that short fails at once without a request, proving the slowdown.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = c.Me(ctx)
	e := requireClass(t, err, ClassTransport)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, "waiting for the rate limiter", e.Message)

	lim.restore() // as a response with room would
	_, err = c.Me(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1000.0, lim.Rate())
}

func TestLimiter429PausesEveryone(t *testing.T) {
	var hits atomic.Int64
	_, _, srv := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		respond(429, map[string]string{"Retry-After": "30"}, "Rate limited.")(w, r)
	})
	forgetShared(t, srv.URL, testToken)
	lim := SharedLimiter(srv.URL, testToken, LimiterOptions{RequestsPerSecond: math.Inf(1), MaxConcurrent: 4})
	c1, err := New(Options{BaseURL: srv.URL, Token: testToken})
	require.NoError(t, err)
	c2, err := New(Options{BaseURL: srv.URL, Token: testToken})
	require.NoError(t, err)

	before := time.Now()
	_, err = c1.Me(context.Background())
	after := time.Now()
	e := requireClass(t, err, ClassRateLimited)
	assert.Equal(t, 30*time.Second, e.RetryAfter)
	paused := lim.PausedUntil()
	assert.False(t, paused.Before(before.Add(30*time.Second)), "paused until the retry time")
	assert.False(t, paused.After(after.Add(30*time.Second)))

	// Another client of the same token, with a deadline before the pause ends: it
	// fails at once, as rate limited until the pause's end, and sends nothing.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = c2.Me(ctx)
	e = requireClass(t, err, ClassRateLimited)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Zero(t, e.StatusCode)
	assert.Greater(t, e.RetryAfter, 25*time.Second, "the rest of the pause")
	assert.Contains(t, err.Error(), "paused")
	assert.Equal(t, int64(1), hits.Load())

	// Without a deadline it waits, holding its slot, until cancelled.
	ctx2, cancel2 := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := c2.Me(ctx2); done <- err }()
	require.Eventually(t, func() bool { return lim.InFlight() == 1 }, 5*time.Second, time.Millisecond)
	cancel2()
	err = <-done
	requireClass(t, err, ClassTransport)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, int64(1), hits.Load(), "nothing sent during the pause")
	assert.Zero(t, lim.InFlight())

	// Another token is not paused.
	c3, _, _ := newTestClient(t, jsonBody(200, userJSON), func(o *Options) {
		o.Token = "another-token"
		o.Limiter = nil
	})
	forgetShared(t, c3.BaseURL(), "another-token")
	assert.NotSame(t, lim, c3.Limiter())
	_, err = c3.Me(context.Background())
	require.NoError(t, err)
}

func TestLimiterPauseRules(t *testing.T) {
	now := time.Date(2025, 9, 30, 12, 0, 0, 0, time.UTC)
	l := NewLimiter(LimiterOptions{})
	l.now = func() time.Time { return now }

	l.observe(http.Header{}, 429, 0, now)
	assert.Equal(t, now.Add(default429Pause), l.PausedUntil(), "a 429 without a hint pauses briefly")

	l.observe(http.Header{}, 429, 10*time.Second, now)
	assert.Equal(t, now.Add(10*time.Second), l.PausedUntil())

	l.observe(http.Header{}, 429, 2*time.Second, now)
	assert.Equal(t, now.Add(10*time.Second), l.PausedUntil(), "a shorter pause does not cut a longer one")

	l.Pause(time.Hour)
	assert.Equal(t, now.Add(MaxRetryAfter), l.PausedUntil(), "clamped")
	l.Pause(-time.Second)
	assert.Equal(t, now.Add(MaxRetryAfter), l.PausedUntil())
}

func TestLimiterRateWaitHonoursDeadline(t *testing.T) {
	l := NewLimiter(LimiterOptions{RequestsPerSecond: 0.001, Burst: 1, MaxConcurrent: 1})
	release, err := l.acquire(context.Background())
	require.NoError(t, err)
	release()
	release() // idempotent

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = l.acquire(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.True(t, strings.Contains(err.Error(), "past the deadline"))
	assert.Zero(t, l.InFlight(), "the slot is released on failure")
}
