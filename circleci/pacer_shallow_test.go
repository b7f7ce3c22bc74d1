package circleci

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// two is a response of a bucket of two with rem left.
func two(rem string) http.Header {
	return hdr("RateLimit-Limit", "2", "RateLimit-Remaining", rem, "RateLimit-Reset", "1")
}

// waitThenObserve makes a caller wait on the pace, then observes h at now.
func waitThenObserve(t *testing.T, l *Limiter, h http.Header, now time.Time) {
	t.Helper()
	for l.pacer.take(now.Add(-time.Millisecond)) == 0 {
	}
	l.observe(h, 200, 0, now)
}

// TestPacerBucketOfTwo: a full bucket (1 left) raises the learned rate by a step in
// proportion to the time while callers wait; 0 left lowers it by shallowCut, once a
// gap; a 429 still halves it.
func TestPacerBucketOfTwo(t *testing.T) {
	l := engaged(t, two("1"))
	assert.True(t, l.pacer.shallow)
	assert.InDelta(t, 1.0, l.Pace(), 1e-9, "half of what is left spread until the reset")

	now := pacerT0.Add(time.Second)
	l.observe(two("1"), 200, 0, now)
	assert.InDelta(t, 1.0, l.Pace(), 1e-9, "nobody waits on the pace: no rise")
	now = now.Add(2 * time.Second)
	waitThenObserve(t, l, two("1"), now)
	assert.InDelta(t, 1+shallowAdd*2*2, l.Pace(), 1e-9, "full and callers wait: up in proportion to the time")
	now = now.Add(time.Minute)
	waitThenObserve(t, l, two("1"), now)
	assert.InDelta(t, 1.2+shallowAdd*2*5, l.Pace(), 1e-9, "a sample stands for at most 5 s")

	now = now.Add(time.Second)
	waitThenObserve(t, l, two("0"), now)
	assert.InDelta(t, 1.7*shallowCut, l.Pace(), 1e-9, "0 left: down")
	waitThenObserve(t, l, two("0"), now.Add(100*time.Millisecond))
	assert.InDelta(t, 1.7*shallowCut, l.Pace(), 1e-9, "at most once a gap")
	now = now.Add(time.Second)
	l.observe(two("0"), http.StatusTooManyRequests, time.Second, now)
	assert.InDelta(t, 1.7*shallowCut*shallowCut/2, l.Pace(), 1e-9, "a 429 halves it too")
	sane429(t, l, now)
}

// sane429 checks the pause a 429 started, and that the gap's jitter stays within
// shallowJitter.
func sane429(t *testing.T, l *Limiter, now time.Time) {
	t.Helper()
	assert.Equal(t, now.Add(time.Second), l.PausedUntil())
	for range 100 {
		g := l.pacer.jittered().Seconds() * l.Pace()
		assert.InDelta(t, 1, g, shallowJitter+1e-9)
	}
}

// TestPacerBucketOfOneOrThree: only a bucket of two takes the shallow law. At 1 a
// count of 0 after every request cannot tell a full bucket; from 3 the half-bucket
// target is a count a response can show.
func TestPacerBucketOfOneOrThree(t *testing.T) {
	for _, limit := range []string{"1", "3", "25"} {
		l := engaged(t, hdr("RateLimit-Limit", limit, "RateLimit-Remaining", "0", "RateLimit-Reset", "1"))
		l.observe(hdr("RateLimit-Limit", limit, "RateLimit-Remaining", "0", "RateLimit-Reset", "1"), 200, 0,
			pacerT0.Add(time.Second))
		assert.False(t, l.pacer.shallow, "limit %s", limit)
		if limit != "1" {
			assert.Negative(t, l.pacer.excess, "limit %s: the level law, below its target", limit)
		}
	}
	l := engaged(t, hdr("RateLimit-Remaining", "2"))
	assert.True(t, l.pacer.shallow, "no limit: the most remaining seen, 2, stands for it")
}
