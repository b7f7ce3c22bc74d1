package circleci

import (
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var pacerT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// hdr builds a header from name, value pairs.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

// engaged returns a default Limiter whose pacer has learned from h at pacerT0.
func engaged(t *testing.T, h http.Header) *Limiter {
	t.Helper()
	l := NewLimiter(LimiterOptions{})
	l.pacer.rng = rand.New(rand.NewPCG(1, 2))
	l.observe(h, 200, 0, pacerT0)
	return l
}

// sane checks that the limiter neither stalls nor floods: no pause, and a pace
// within [pacerMinRate, pacerMaxStart].
func sane(t *testing.T, l *Limiter) {
	t.Helper()
	assert.True(t, l.PausedUntil().IsZero(), "no pause")
	assert.GreaterOrEqual(t, l.Pace(), pacerMinRate, "never stalls")
	assert.LessOrEqual(t, l.Pace(), 1.75*pacerMaxStart, "never floods")
}

func TestPacerProbesThenLearns(t *testing.T) {
	l := NewLimiter(LimiterOptions{})
	assert.Equal(t, LimiterOptions{MaxConcurrent: DefaultMaxConcurrent, Burst: DefaultBurst}, l.Options())
	assert.True(t, math.IsInf(l.Pace(), 1), "nothing learned yet")
	assert.Zero(t, l.pacer.take(pacerT0), "the probe goes")
	assert.Positive(t, l.pacer.take(pacerT0), "one probe at a time")
	l.pacer.done()
	assert.Zero(t, l.pacer.take(pacerT0), "a probe that got no answer lets the next one go")

	l.observe(hdr("RateLimit-Limit", "25", "RateLimit-Remaining", "24", "RateLimit-Reset", "1"), 200, 0, pacerT0)
	assert.InDelta(t, 25.0/2, l.Pace(), 1e-9, "half of what is left spread until the reset")
	assert.True(t, math.IsInf(l.Rate(), 1), "no ceiling")
}

func TestPacerHeadersMissing(t *testing.T) {
	l := NewLimiter(LimiterOptions{})
	for range 20 {
		l.observe(http.Header{}, 200, 0, pacerT0)
	}
	assert.True(t, math.IsInf(l.Pace(), 1), "no signal: the pacer stays out of the way")
	for range 20 {
		assert.Zero(t, l.pacer.take(pacerT0))
	}
	// The first 429 without headers starts from half the rate sent (at least 1/s).
	now := pacerT0.Add(time.Second)
	l.observe(http.Header{}, 429, 0, now)
	assert.InDelta(t, 10, l.Pace(), 1e-9, "20 requests in 1 s sent, half of it")
	// Successes without headers, callers waiting: the pace creeps up again.
	for range 5 {
		now = now.Add(time.Second)
		for l.pacer.take(now) == 0 {
		}
		l.observe(http.Header{}, 200, 0, now)
	}
	assert.Greater(t, l.Pace(), 20.0, "up by a quarter every second of waiting callers")
}

func TestPacerContradictoryHeaders(t *testing.T) {
	l := engaged(t, hdr("RateLimit-Limit", "10", "RateLimit-Remaining", "500", "RateLimit-Reset", "1"))
	assert.InDelta(t, 11.0/2, l.Pace(), 1e-9, "remaining above the limit counts as the limit")

	l = engaged(t, hdr("RateLimit-Remaining", "80", "X-RateLimit-Remaining", "4", "RateLimit-Limit", "100",
		"X-RateLimit-Limit", "10", "RateLimit-Reset", "1"))
	assert.InDelta(t, 5.0/2, l.Pace(), 1e-9, "the lower of both families is enforced")

	l = engaged(t, hdr("RateLimit-Limit", "0", "RateLimit-Remaining", "abc", "RateLimit-Reset", "-5"))
	assert.True(t, math.IsInf(l.Pace(), 1), "nothing usable: no signal")
	l.observe(hdr("RateLimit-Limit", "-3", "RateLimit-Remaining", "7"), 200, 0, pacerT0)
	sane(t, l)
	assert.InDelta(t, 8.0/2, l.Pace(), 1e-9, "no reset: what is left in one second")
	l.observe(hdr("RateLimit-Remaining", "1"), 200, 0, pacerT0)
	assert.InDelta(t, (1-6.0/2)/8, l.pacer.excess, 1e-9, "no limit: the most remaining seen stands for it")
}

func TestPacerAbsurdHeaders(t *testing.T) {
	year := "31536000"
	for name, h := range map[string]http.Header{
		"reset of a year":       hdr("RateLimit-Limit", "100", "RateLimit-Remaining", "0", "RateLimit-Reset", year),
		"reset a year ahead":    hdr("RateLimit-Remaining", "0", "X-RateLimit-Reset", "1803859200"),
		"negative remaining":    hdr("RateLimit-Limit", "100", "RateLimit-Remaining", "-40", "RateLimit-Reset", "1"),
		"huge remaining":        hdr("RateLimit-Remaining", "1e12"),
		"infinite remaining":    hdr("RateLimit-Limit", "Inf", "RateLimit-Remaining", "+Inf", "RateLimit-Reset", "NaN"),
		"remaining without end": hdr("RateLimit-Limit", "1e300", "RateLimit-Remaining", "1e300", "RateLimit-Reset", year),
	} {
		t.Run(name, func(t *testing.T) {
			l := engaged(t, h)
			if math.IsInf(l.Pace(), 1) {
				return // ignored altogether
			}
			sane(t, l)
			for i := range 50 { // and it stays so, however long the bad headers last
				l.observe(h, 200, 0, pacerT0.Add(time.Duration(i)*time.Second))
				sane(t, l)
			}
		})
	}
}

func TestPacerRetryAfterInThePast(t *testing.T) {
	l := engaged(t, hdr("RateLimit-Limit", "20", "RateLimit-Remaining", "3", "RateLimit-Reset", "1"))
	before := l.Pace()
	now := pacerT0.Add(2 * time.Second)
	h := hdr("Retry-After", now.Add(-time.Hour).Format(http.TimeFormat))
	l.now = func() time.Time { return now }
	l.observe(h, 429, rateLimitDelay(h, now), now)
	assert.Equal(t, now.Add(default429Pause), l.PausedUntil(), "a short pause, not none and not an hour")
	assert.InDelta(t, before/2, l.Pace(), 1e-9, "halved")
	l.observe(h, 429, rateLimitDelay(h, now), now.Add(100*time.Millisecond))
	assert.InDelta(t, before/2, l.Pace(), 1e-9, "a burst of 429s halves once")
}

func TestPacerFollowsADrop(t *testing.T) {
	l := engaged(t, hdr("RateLimit-Limit", "50", "RateLimit-Remaining", "49", "RateLimit-Reset", "1"))
	start := l.Pace()
	now := pacerT0
	for range 30 { // 3 s of answers saying the budget is nearly spent, callers waiting
		now = now.Add(100 * time.Millisecond)
		l.pacer.take(now)
		l.pacer.take(now)
		l.observe(hdr("RateLimit-Limit", "50", "RateLimit-Remaining", "2", "RateLimit-Reset", "1"), 200, 0, now)
	}
	assert.Less(t, l.Pace(), start/4, "under a quarter of the pace after 3 s")
	sane(t, l)
}

func TestPacerLearnsOnlyWhileItBinds(t *testing.T) {
	l := engaged(t, hdr("RateLimit-Limit", "50", "RateLimit-Remaining", "30", "RateLimit-Reset", "1"))
	base := l.pacer.base
	full := hdr("RateLimit-Limit", "50", "RateLimit-Remaining", "49", "RateLimit-Reset", "1")
	for i := range 20 { // nobody waits on the pace: the budget fills up, but base stays
		l.observe(full, 200, 0, pacerT0.Add(time.Duration(i+1)*time.Second))
	}
	assert.Equal(t, base, l.pacer.base)
	for l.pacer.take(pacerT0.Add(21*time.Second)) == 0 {
	}
	l.observe(full, 200, 0, pacerT0.Add(22*time.Second))
	assert.Greater(t, l.pacer.base, base, "callers wait and the budget is left unused: faster")
}

func TestPacerCeiling(t *testing.T) {
	l := NewLimiter(LimiterOptions{RequestsPerSecond: 5})
	l.observe(hdr("RateLimit-Limit", "100", "RateLimit-Remaining", "99", "RateLimit-Reset", "1"), 200, 0, pacerT0)
	assert.Equal(t, 5.0, l.Pace(), "CIRCLECI_RATE caps the learned pace")
	assert.Equal(t, 5.0, l.Rate())

	off := NewLimiter(LimiterOptions{RequestsPerSecond: math.Inf(1)})
	off.observe(hdr("RateLimit-Limit", "100", "RateLimit-Remaining", "99", "RateLimit-Reset", "1"), 200, 0, pacerT0)
	assert.True(t, math.IsInf(off.Pace(), 1), "+Inf turns learning off")
}

func TestPacerWaitHonoursDeadline(t *testing.T) {
	l := engaged(t, hdr("RateLimit-Limit", "100", "RateLimit-Remaining", "0", "RateLimit-Reset", "60"))
	l.pacer.slot = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := l.acquire(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "past the deadline")
	assert.Zero(t, l.InFlight())
}

func TestPacerRandom429sTeachNoBudget(t *testing.T) {
	h := hdr("RateLimit-Limit", "20", "RateLimit-Remaining", "15", "RateLimit-Reset", "1")
	l := engaged(t, h)
	before := l.Pace()
	now := pacerT0.Add(2 * time.Second)
	l.now = func() time.Time { return now }
	l.observe(h, 429, time.Second, now)
	assert.Equal(t, now.Add(time.Second), l.PausedUntil(), "every 429 pauses")
	assert.GreaterOrEqual(t, l.Pace(), before, "a 429 showing budget left is no budget's: not halved")
	now = now.Add(2 * time.Second)
	l.observe(http.Header{}, 429, time.Second, now)
	assert.GreaterOrEqual(t, l.Pace(), before, "nor is one without headers while the last level was high")

	now = now.Add(2 * time.Second)
	low := hdr("RateLimit-Limit", "20", "RateLimit-Remaining", "0", "RateLimit-Reset", "1")
	l.observe(low, 200, 0, now)
	paced := l.pacer.base
	now = now.Add(2 * time.Second)
	l.observe(http.Header{}, 429, time.Second, now)
	assert.InDelta(t, paced/2, l.pacer.base, 1e-9, "one without headers after a low level halves")
	now = now.Add(2 * time.Second)
	l.observe(low, 429, time.Second, now)
	assert.Less(t, l.pacer.base, paced/4, "and one showing nothing left halves")
}
