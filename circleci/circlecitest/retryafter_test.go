package circlecitest

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock is a settable clock for the stats collector.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time                      { return c.t }
func (c *fakeClock) advance(d time.Duration)             { c.t = c.t.Add(d) }
func (c *fakeClock) set(base time.Time, d time.Duration) { c.t = base.Add(d) }

func TestRetryAfterAccounting(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := newStatsCollector()
	c.now = clock.now
	req := func(token string) { c.begin(token); c.end("GET /x", 200, false) }
	check := func(violations, honoured int64) {
		t.Helper()
		st := c.snapshot()
		assert.Equal(t, violations, st.RetryAfterViolations, "violations")
		assert.Equal(t, honoured, st.RetryAfterHonoured, "honoured")
	}

	// A 429 to token a at t0, asking for 1 s.
	t0 := clock.t
	c.begin("a")
	c.rateLimited("a", time.Second)
	c.end("GET /x", 429, true)
	clock.set(t0, RetryAfterGrace) // in flight when the 429 went out: not counted
	req("a")
	clock.set(t0, 500*time.Millisecond)
	req("b") // another token is not held back
	check(0, 0)
	req("a") // too early
	check(1, 0)
	clock.set(t0, time.Second) // the wait is over: the window closes, violated
	req("a")
	check(1, 0)

	// A wait kept.
	t1 := clock.t
	c.begin("a")
	c.rateLimited("a", 2*time.Second)
	clock.set(t1, 2*time.Second+time.Millisecond)
	req("a")
	check(1, 1)
	req("a") // the window is closed: nothing more
	check(1, 1)

	// Two overlapping windows, one early request violating both counts once;
	// a later one closes both, neither honoured.
	t2 := clock.t
	c.rateLimited("a", time.Second)
	clock.advance(10 * time.Millisecond)
	c.rateLimited("a", time.Second)
	clock.set(t2, 300*time.Millisecond)
	req("a")
	check(2, 1)
	clock.set(t2, 2*time.Second)
	req("a")
	check(2, 1)

	// Two overlapping windows both kept: two honoured 429s.
	t3 := clock.t
	c.rateLimited("a", time.Second)
	clock.advance(50 * time.Millisecond)
	c.rateLimited("a", time.Second)
	clock.set(t3, 1100*time.Millisecond)
	req("a")
	check(2, 3)

	// The 429's own request is checked before it opens its window: a request
	// answered 429 inside an earlier window is a violation.
	t4 := clock.t
	c.rateLimited("a", time.Second)
	clock.set(t4, 400*time.Millisecond)
	c.begin("a")
	c.rateLimited("a", time.Second)
	check(3, 3)

	// A reset drops the open windows with the counters.
	c.reset()
	clock.set(t4, 600*time.Millisecond)
	req("a")
	check(0, 0)
	assert.Empty(t, c.windows)
}

func TestRetryAfterOverHTTP(t *testing.T) {
	s := NewServer(Options{Seed: 1, Projects: 1, PipelinesPerProject: 1, LimitedToken: "other-token",
		Faults: Faults{Random429Rate: 1}})
	defer s.Close()
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s.stats.now = clock.now
	base := clock.t

	r := call(t, s, "/api/v2/me", s.Token())
	require.Equal(t, http.StatusTooManyRequests, r.status)
	require.Equal(t, "1", r.header.Get("Retry-After"))
	s.SetFaults(Faults{})
	clock.set(base, 200*time.Millisecond)
	assert.Equal(t, http.StatusOK, call(t, s, "/api/v2/me", "other-token").status, "another token")
	assert.Equal(t, http.StatusOK, call(t, s, "/api/v2/me", s.Token()).status) // too early
	clock.set(base, 1500*time.Millisecond)
	assert.Equal(t, http.StatusOK, call(t, s, "/api/v2/me", s.Token()).status)

	// The bucket's 429s count too, with their own Retry-After.
	s.SetFaults(Faults{RateLimit: 0.01, RateBurst: 1})
	clock.set(base, 10*time.Second)
	assert.Equal(t, http.StatusOK, call(t, s, "/api/v2/me", s.Token()).status)
	r = call(t, s, "/api/v2/me", s.Token())
	require.Equal(t, http.StatusTooManyRequests, r.status)
	s.SetFaults(Faults{})
	clock.set(base, 10*time.Second+2*time.Minute)
	assert.Equal(t, http.StatusOK, call(t, s, "/api/v2/me", s.Token()).status)

	var st Stats
	get(t, s, "/_fake/stats", &st)
	assert.EqualValues(t, 2, st.RetryAfterSent)
	assert.EqualValues(t, 1, st.RetryAfterViolations)
	assert.EqualValues(t, 1, st.RetryAfterHonoured)
	var raw map[string]any
	get(t, s, "/_fake/stats", &raw)
	assert.Contains(t, raw, "retry_after_violations")
	assert.Contains(t, raw, "retry_after_honoured")
	_, err := json.Marshal(st)
	require.NoError(t, err)
}
