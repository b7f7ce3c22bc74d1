package circleci

import "time"

// The shallow law's constants: a bucket of two requests.
const (
	// shallowAdd is the additive increase per second, as a share of the bucket.
	shallowAdd = 0.05
	// shallowCut is the decrease on a response that shows the bucket was not full.
	shallowCut = 0.95
	// shallowMaxStep bounds the time one sample stands for: long enough that a slow
	// process gains as much per second as a fast one (AIMD's fairness).
	shallowMaxStep = 5 * time.Second
	// shallowJitter is the jitter of the gap: at a few requests/s the fleet's slack is
	// tens of milliseconds, which pacerJitter would use up.
	shallowJitter = 0.02
)

// onShallow is the law of a bucket of two (docs/rate-limits.md), whose count after a
// request is 0 or 1: the half-bucket target falls between them. AIMD on the count:
// 1 left (the bucket was full) raises the learned rate by shallowAdd of the bucket
// per second while callers wait; 0 (it had not refilled since the last request) lowers
// it by shallowCut, at most once per gap. The pace is the learned rate.
func (p *pacer) onShallow(s rateSignal, full float64, now time.Time) {
	dt := min(max(now.Sub(p.last), 0), shallowMaxStep).Seconds()
	p.last = now
	p.excess = 0
	waited := p.waited
	p.waited = false
	if s.remaining >= full-1 {
		if waited {
			p.base += shallowAdd * full * dt
		}
		return
	}
	if now.Sub(p.lastMiss).Seconds()*p.pace >= 1 {
		p.base *= shallowCut
		p.lastMiss = now
	}
}
