package circleci

import (
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// simBucket is the fake's token bucket (circlecitest) on a virtual clock.
type simBucket struct {
	rate, burst, tokens float64
	last                time.Time
	mangle              func(status int, h http.Header) // rewrites the answers' headers, if set
}

// take answers one request: its status and headers.
func (b *simBucket) take(now time.Time) (int, http.Header) {
	b.tokens = math.Min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	h := http.Header{}
	status := 200
	if b.tokens >= 1 {
		b.tokens--
	} else {
		status = 429
		h.Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil((1-b.tokens)/b.rate)))))
	}
	h.Set("RateLimit-Limit", strconv.Itoa(int(b.burst)))
	h.Set("RateLimit-Remaining", strconv.Itoa(int(math.Floor(b.tokens))))
	h.Set("RateLimit-Reset", strconv.Itoa(int(math.Ceil((b.burst-b.tokens)/b.rate))))
	if b.mangle != nil {
		b.mangle(status, h)
	}
	return status, h
}

// simCaller is one caller of a simulated process: idle, or waiting for a response.
type simCaller struct {
	proc   int
	respAt time.Time
	status int
	header http.Header
	busy   bool
}

var simSeed uint64

// simulate runs fr on a virtual clock in steps of 1 ms and returns what the bucket
// answered: the pacers, pauses and bucket are the real ones, the network is not.
func simulate(fr fleetRun) fleetResult {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	full := float64(fr.burst(fr.budget))
	b := &simBucket{rate: fr.budget, burst: full, tokens: full, last: start, mangle: fr.mangle}
	lims := make([]*Limiter, fr.instances)
	var callers []*simCaller
	for i := range lims {
		lims[i] = NewLimiter(LimiterOptions{})
		lims[i].pacer.rng = rand.New(rand.NewPCG(uint64(i)+simSeed, 7))
		for range fr.callers {
			callers = append(callers, &simCaller{proc: i})
		}
	}
	var r fleetResult
	capacity := fr.budget*fr.dur.Seconds() + full
	for now := start; now.Before(start.Add(fr.dur)); now = now.Add(time.Millisecond) {
		if fr.dropTo > 0 && now.Equal(start.Add(fr.dur/2)) {
			drop := float64(fr.burst(fr.dropTo))
			b = &simBucket{rate: fr.dropTo, burst: drop, tokens: drop, last: now}
			capacity = (fr.budget+fr.dropTo)*fr.dur.Seconds()/2 + full + drop
		}
		for _, c := range callers {
			simStep(c, lims[c.proc], b, now, fr.latency, &r)
		}
	}
	r.used = float64(r.ok) / capacity
	if fr.dropTo > 0 {
		sends := make([]time.Duration, len(r.sends))
		for i, at := range r.sends {
			sends[i] = at.Sub(start)
		}
		r.follow = followTime(sends, fr.dur/2, fr.dur, fr.dropTo)
	}
	r.share429 = float64(r.limited) / math.Max(1, float64(r.ok+r.limited))
	return r
}

// simStep delivers c's response when due, or sends its next request when allowed.
func simStep(c *simCaller, l *Limiter, b *simBucket, now time.Time, lat time.Duration, r *fleetResult) {
	if c.busy {
		if now.Before(c.respAt) {
			return
		}
		c.busy = false
		retry := time.Duration(0)
		if c.status == 429 {
			retry = rateLimitDelay(c.header, now)
		}
		l.observe(c.header, c.status, retry, now)
		l.pacer.done()

		return
	}
	if now.Before(l.pausedUntil) || l.pacer.take(now) > 0 {
		return
	}
	c.status, c.header = b.take(now.Add(lat / 2))
	r.sends = append(r.sends, now.Add(lat+time.Millisecond))
	if c.status == 200 {
		r.ok++
	} else {
		r.limited++
	}
	c.busy, c.respAt = true, now.Add(lat+time.Millisecond)
}

// TestPacerSimulated: fleets of pacers against the fake's bucket on a virtual
// clock (deterministic): loose bounds on the budget used and the 429s.
func TestPacerSimulated(t *testing.T) {
	for _, fr := range []fleetRun{
		{budget: 2, instances: 1, callers: 16, dur: 30 * time.Second},
		{budget: 2, instances: 2, callers: 8, dur: 30 * time.Second},
		{budget: 10, instances: 4, callers: 4, dur: 20 * time.Second},
		{budget: 25, instances: 2, callers: 8, latency: 30 * time.Millisecond, dur: 20 * time.Second},
		{budget: 100, instances: 4, callers: 4, dur: 10 * time.Second},
		{budget: 25, instances: 2, callers: 8, dur: 20 * time.Second, dropTo: 10},
		{budget: 2, bucket: 60, instances: 4, callers: 4, dur: 180 * time.Second},
		{budget: 25, bucket: 10, instances: 4, callers: 4, dur: 60 * time.Second},
	} {
		r := simulate(fr)
		t.Logf("%+v: used %.2f, 429 %.2f%%, follows a drop in %v", fr, r.used, 100*r.share429, r.follow)
		assert.Greater(t, r.used, 0.7, "%+v", fr)
		assert.Less(t, r.share429, 0.02, "%+v", fr)
		if fr.dropTo > 0 {
			assert.Less(t, r.follow, 5*time.Second, "follows a drop of the budget within seconds")
		}
	}
}

// TestPacerSimulatedBucketOfTwo: at 2 requests/s the fake's bucket holds 2. One and
// two processes use at least 0.9 of it over a minute with no 429; four, which the
// headers alone cannot space (docs/rate-limits.md, Limits), still use most of it
// and are refused far less than a quarter of the time.
func TestPacerSimulatedBucketOfTwo(t *testing.T) {
	for _, c := range []struct {
		instances       int
		minUsed, max429 float64
	}{{1, 0.9, 0.01}, {2, 0.9, 0.01}, {4, 0.7, 0.25}} {
		fr := fleetRun{budget: 2, instances: c.instances, callers: 16 / c.instances, dur: time.Minute}
		r := simulate(fr)
		t.Logf("%d processes: used %.2f, 429 %.2f%%", c.instances, r.used, 100*r.share429)
		assert.GreaterOrEqual(t, r.used, c.minUsed, "%d processes", c.instances)
		assert.LessOrEqual(t, r.share429, c.max429, "%d processes", c.instances)
	}
}
