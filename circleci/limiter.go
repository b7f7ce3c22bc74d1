package circleci

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter defaults: no rate, the budget is learned (docs/rate-limits.md).
const (
	DefaultRequestsPerSecond = 0.0
	DefaultBurst             = 10
	DefaultMaxConcurrent     = 16
)

const (
	// minSlowRate is the floor of the header slowdown, so that it never stalls.
	minSlowRate = 0.05
	// lowRemaining is where the slowdown starts when no RateLimit-Limit is sent.
	lowRemaining = 10
	// default429Pause holds every caller after a 429 that names no retry time.
	default429Pause = time.Second
)

// LimiterOptions configures a Limiter. Zero values mean the defaults.
type LimiterOptions struct {
	// RequestsPerSecond is a ceiling on the learned pace; 0 (the default) means none.
	// +Inf turns learning off: only 429s and an exhausted budget slow requests down.
	RequestsPerSecond float64
	// Burst is how many requests may go at once under the ceiling (default 10).
	Burst int
	// MaxConcurrent caps the requests in flight (default 16).
	MaxConcurrent int
}

func (o LimiterOptions) withDefaults() LimiterOptions {
	if !(o.RequestsPerSecond > 0) { // also NaN
		o.RequestsPerSecond = 0
	}
	if o.Burst <= 0 {
		o.Burst = DefaultBurst
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = DefaultMaxConcurrent
	}
	return o
}

// Limiter paces one token's requests: a cap on those in flight, a pause after a 429,
// a learned pace and an optional ceiling. Safe for concurrent use; share one per token
// (SharedLimiter).
type Limiter struct {
	opts  LimiterOptions
	rl    *rate.Limiter
	pacer *pacer // nil when learning is off
	sem   chan struct{}
	now   func() time.Time

	mu          sync.Mutex
	pausedUntil time.Time
	slowed      bool
}

// NewLimiter returns a Limiter of its own. Most callers want SharedLimiter.
func NewLimiter(opts LimiterOptions) *Limiter {
	opts = opts.withDefaults()
	l := &Limiter{
		opts: opts,
		rl:   rate.NewLimiter(rate.Inf, opts.Burst),
		sem:  make(chan struct{}, opts.MaxConcurrent),
		now:  time.Now,
	}
	if opts.RequestsPerSecond > 0 {
		l.rl.SetLimit(rate.Limit(opts.RequestsPerSecond))
	}
	if !math.IsInf(opts.RequestsPerSecond, 1) {
		l.pacer = newPacer(opts.RequestsPerSecond)
	}
	return l
}

var (
	sharedMu       sync.Mutex
	sharedLimiters = map[string]*Limiter{}
)

// SharedLimiter returns the process-wide Limiter of baseURL and token (the budget is
// per token), made with opts on first use; keyed by the token's SHA-256.
func SharedLimiter(baseURL, token string, opts LimiterOptions) *Limiter {
	key := sharedKey(baseURL, token)
	sharedMu.Lock()
	defer sharedMu.Unlock()
	l, ok := sharedLimiters[key]
	if !ok {
		l = NewLimiter(opts)
		sharedLimiters[key] = l
	}
	return l
}

func sharedKey(baseURL, token string) string {
	if b, err := normalizeBaseURL(baseURL); err == nil {
		baseURL = b
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return strings.ToLower(baseURL) + " " + hex.EncodeToString(sum[:])
}

// Options returns the configured options, with defaults filled in.
func (l *Limiter) Options() LimiterOptions { return l.opts }

// Rate returns the ceiling's current requests/s (lower in a slowdown; +Inf: none).
func (l *Limiter) Rate() float64 {
	if r := l.rl.Limit(); r != rate.Inf {
		return float64(r)
	}
	return math.Inf(1)
}

// Pace returns the learned requests/s; +Inf before any signal or with learning off.
func (l *Limiter) Pace() float64 {
	if l.pacer == nil {
		return math.Inf(1)
	}
	return l.pacer.Pace()
}

// InFlight returns how many requests hold a concurrency slot now.
func (l *Limiter) InFlight() int { return len(l.sem) }

// PausedUntil returns when the current pause ends (past or zero: none).
func (l *Limiter) PausedUntil() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pausedUntil
}

// Pause holds every caller for d (at most MaxRetryAfter) unless a longer pause runs.
func (l *Limiter) Pause(d time.Duration) {
	if d <= 0 {
		return
	}
	l.pauseUntil(l.now().Add(min(d, MaxRetryAfter)))
}

func (l *Limiter) pauseUntil(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.After(l.pausedUntil) {
		l.pausedUntil = t
	}
}

// acquire waits for a slot in flight, the end of any pause and the pace; release
// frees the slot once the response is read.
func (l *Limiter) acquire(ctx context.Context) (release func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	release = sync.OnceFunc(func() {
		if l.pacer != nil {
			l.pacer.done()
		}
		<-l.sem
	})
	for {
		if err := l.waitPause(ctx); err != nil {
			release()
			return nil, err
		}
		if err := l.waitSlot(ctx); err != nil {
			release()
			return nil, err
		}
		// A 429 may have started a pause while this caller waited for its token.
		if !l.now().Before(l.PausedUntil()) {
			return release, nil
		}
	}
}

// waitSlot waits for a token of the ceiling's bucket, then for the learned pace.
func (l *Limiter) waitSlot(ctx context.Context) error {
	if err := l.rl.Wait(ctx); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return fmt.Errorf("%w: the rate limiter's next slot is past the deadline", context.DeadlineExceeded)
	}
	if l.pacer == nil {
		return nil
	}
	return l.pacer.wait(ctx)
}

// waitPause waits for the pause to end; it fails at once if that is past ctx's deadline.
func (l *Limiter) waitPause(ctx context.Context) error {
	for {
		until := l.PausedUntil()
		d := until.Sub(l.now())
		if d <= 0 {
			return nil
		}
		if dl, ok := ctx.Deadline(); ok && dl.Before(until) {
			return &pausedError{remaining: d}
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// observe adapts to a response: a 429 pauses everyone, the pacer learns, and under
// a ceiling the headers slow the bucket down (slowFromHeaders).
func (l *Limiter) observe(h http.Header, status int, retryAfter time.Duration, now time.Time) {
	if status == http.StatusTooManyRequests {
		if retryAfter <= 0 {
			retryAfter = default429Pause
		}
		l.pauseUntil(now.Add(min(retryAfter, MaxRetryAfter)))
	}
	if l.pacer != nil {
		l.pacer.observe(readSignal(h, status, now), now)
	}
	if l.opts.RequestsPerSecond > 0 {
		l.slowFromHeaders(h, now)
	}
}

// slowFromHeaders spreads what RateLimit-Remaining leaves until the reset once it is
// low, pausing until the reset at 0, and restores the ceiling when it is not.
func (l *Limiter) slowFromHeaders(h http.Header, now time.Time) {
	remaining, ok := lowestHeader(h, remainingHeaders)
	if !ok {
		return
	}
	low := float64(lowRemaining)
	if limit, ok := lowestHeader(h, limitHeaders); ok && limit > 0 {
		low = math.Max(1, math.Floor(limit/10))
	}
	if remaining >= low {
		l.restore()
		return
	}
	reset := resetDelay(h, now)
	configured := l.opts.RequestsPerSecond
	var r float64
	switch {
	case remaining <= 0:
		r = minSlowRate
		if reset > 0 {
			l.pauseUntil(now.Add(reset))
			// The next token comes at the reset, not 1/minSlowRate later.
			r = 1 / reset.Seconds()
		}
	case reset > 0:
		r = remaining / reset.Seconds()
	default:
		r = configured * remaining / low
	}
	l.slowTo(math.Min(math.Max(r, minSlowRate), configured))
}

// slowTo lowers the rate to r with the bucket emptied, so that no burst goes out.
func (l *Limiter) slowTo(r float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	l.rl.SetLimitAt(now, rate.Limit(r))
	if !l.slowed {
		l.slowed = true
		l.rl.SetBurstAt(now, 1)
		l.rl.AllowN(now, 1) // leaves at most a fraction of a token
	}
}

// restore returns to the configured rate and burst after a slowdown.
func (l *Limiter) restore() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.slowed {
		return
	}
	l.slowed = false
	l.rl.SetLimit(rate.Limit(l.opts.RequestsPerSecond))
	l.rl.SetBurst(l.opts.Burst)
}

// pausedError: a 429's pause outlasts the caller's deadline (a rate limit).
type pausedError struct{ remaining time.Duration }

func (e *pausedError) Error() string {
	return fmt.Sprintf("%v: the rate limiter is paused for another %s", context.DeadlineExceeded,
		e.remaining.Round(time.Millisecond))
}

// Unwrap makes the error a context.DeadlineExceeded.
func (e *pausedError) Unwrap() error { return context.DeadlineExceeded }
