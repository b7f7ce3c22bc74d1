package circleci

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// The adaptive pacer's constants (docs/rate-limits.md explains the control law).
const (
	// pacerMinRate is the slowest pace, so that no header ever stalls a sync.
	pacerMinRate = 0.2
	// pacerMaxStart caps the first pace read from headers.
	pacerMaxStart = 200.0
	// pacerGain is how fast the learned rate follows the level, per second.
	pacerGain = 1.0
	// pacerProp scales the pace by the budget left over the target.
	pacerProp = 1.5
	// pacerSlack is how late a slot may be taken without shifting the next one.
	pacerSlack = 20 * time.Millisecond
	// pacerBlindExcess is the excess a success without rate-limit headers stands for.
	pacerBlindExcess = 0.25
	// pacerJitter spreads the slots of processes sharing a token.
	pacerJitter = 0.1
	// pacerMaxStep bounds the time one sample of the level stands for.
	pacerMaxStep = time.Second
	// pacerCutEvery spaces the halvings a burst of 429s causes.
	pacerCutEvery = time.Second
	// pacerLow is the level, as a share of the budget, under which the learned rate
	// halves before any 429 (every pacerLowCutEvery): in a deep bucket the level lags.
	pacerLow         = 1.0 / 4
	pacerLowCutEvery = 250 * time.Millisecond
	// pacerRecheck bounds a wait, so that a new pace applies to every waiter.
	pacerRecheck = 50 * time.Millisecond
)

// pacer learns a token's budget from rate-limit headers and 429s and spaces the
// requests of one process so that about half the budget stays left.
// Until the first signal it does not pace.
type pacer struct {
	mu       sync.Mutex
	ceiling  float64 // +Inf: none
	engaged  bool
	base     float64       // learned requests/s at the target level
	pace     float64       // base scaled by the last excess, within [pacerMinRate, ceiling]
	excess   float64       // last budget left over the target, as a share of the budget
	slot     time.Time     // when the last request went
	gap      time.Duration // to the next slot: 1/pace with some jitter
	rng      *rand.Rand
	probing  bool    // no response seen yet: one request at a time
	probe    bool    // the probe is out
	waited   bool    // a caller waited since the last adjustment
	started  bool    // the level fell to the target once: slow start is over
	leveled  bool    // a response carried the remaining count
	level    float64 // the excess it showed
	maxLeft  float64
	last     time.Time // last adjustment
	lastCut  time.Time
	sends    sendCounter
	shallow  bool      // the bucket holds two requests: the shallow law
	lastMiss time.Time // last decrease on a bucket that was not full
}

func newPacer(ceiling float64) *pacer {
	if !(ceiling > 0) {
		ceiling = math.Inf(1)
	}
	return &pacer{ceiling: ceiling, pace: math.Inf(1), probing: true,
		rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
}

// Pace returns the current pace in requests/s; +Inf before the first signal.
func (p *pacer) Pace() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pace
}

// wait blocks until the pace allows one more request. It fails at once when that
// lies past ctx's deadline.
func (p *pacer) wait(ctx context.Context) error {
	for {
		d := p.take(time.Now())
		if d <= 0 {
			return nil
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
			return fmt.Errorf("%w: the rate limiter's next slot is past the deadline", context.DeadlineExceeded)
		}
		t := time.NewTimer(min(d, pacerRecheck))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// take claims the next slot if it is due, else returns the time until it is.
func (p *pacer) take(now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.probing {
		if p.probe {
			return pacerRecheck
		}
		p.probe = true
	}
	if p.engaged && !math.IsInf(p.pace, 1) {
		due := p.slot.Add(p.gap)
		if now.Before(due) {
			p.waited = true
			return due.Sub(now)
		}
		// A little slack absorbs timer lateness without allowing a burst.
		p.slot = later(due, now.Add(-pacerSlack))
		p.gap = p.jittered()
	}
	p.sends.add(now)
	return 0
}

// done ends a request: a probe that got no response lets the next one go.
func (p *pacer) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.probe = false
}

// observe adapts the pace to one response's signal. The first response ends the
// probing; without headers or a 429 the pacer stays disengaged.
func (p *pacer) observe(s rateSignal, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.probing = false
	switch {
	case s.remaining >= 0:
		p.onLevel(s, now)
	case p.engaged && !s.limited:
		p.learn(pacerBlindExcess, now) // no headers: probe upwards, as AIMD does
	}
	if s.limited && !p.notTheBudget(s) {
		p.onLimited(now)
	}
	p.setPace()
}

// notTheBudget reports whether the headers contradict a 429: it shows budget
// left, or it has no level and the last one read was at or over the target. Such
// a 429 (a fault, not the budget) pauses the callers but teaches no budget.
func (p *pacer) notTheBudget(s rateSignal) bool {
	if s.remaining >= 1 {
		return true
	}
	return s.remaining < 0 && p.leveled && p.level >= 0
}

// onLimited halves the learned rate on a 429 (once per pacerCutEvery); the first
// 429 starts from half the rate actually sent.
func (p *pacer) onLimited(now time.Time) {
	if !p.engaged {
		p.engage(max(1, 0.5*p.sends.rate(now)), now)
		p.lastCut = now
		return
	}
	if now.Sub(p.lastCut) >= pacerCutEvery {
		p.base /= 2
		p.lastCut = now
	}
}

// onLevel moves the learned rate by how far the budget left is from the target:
// up while above it and callers wait on the pace, down while below it.
func (p *pacer) onLevel(s rateSignal, now time.Time) {
	p.leveled = true
	p.maxLeft = max(p.maxLeft, s.remaining)
	e := s.excess(p.maxLeft)
	p.level = e
	full := max(s.limit, p.maxLeft)
	p.shallow = full >= 2 && full < 3
	if !p.engaged {
		// Half, as other processes may be starting on the same token too.
		p.engage(s.startRate()/2, now)
		return
	}
	if p.shallow {
		p.onShallow(s, full, now)
		return
	}
	p.excess = e
	p.learn(e, now)
	if full >= minFull && s.remaining <= max(1, pacerLow*full) &&
		now.Sub(p.lastCut) >= pacerLowCutEvery {
		p.base /= 2
		p.lastCut = now
	}
}

// learn moves the learned rate by e (the excess) for the time since the last move.
func (p *pacer) learn(e float64, now time.Time) {
	dt := min(max(now.Sub(p.last), 0), pacerMaxStep).Seconds()
	p.last = now
	if e > 0 && !p.waited {
		e = 0 // the pace does not bind: learning more would only wind up
	}
	p.waited = false
	switch {
	case e <= 0:
		p.started = true
	case !p.started:
		e = 0.5 // slow start: as fast as the budget left allows, until it binds
	}
	p.base *= math.Exp(pacerGain * e * dt)
}

func (p *pacer) engage(base float64, now time.Time) {
	p.engaged = true
	p.base = base
	p.last = now
	p.slot = now
}

// setPace scales the learned rate by the level: slower when little is left, faster
// when the budget fills up unused.
func (p *pacer) setPace() {
	if !p.engaged {
		return
	}
	p.base = min(max(p.base, pacerMinRate), p.ceiling, 10*pacerMaxStart)
	f := min(max(1+pacerProp*p.excess, 0.25), 1.75)
	p.pace = min(max(p.base*f, pacerMinRate), p.ceiling)
	p.gap = p.jittered()
}

// jittered is the gap between slots at the pace, ±pacerJitter at random, so that
// processes sharing a token do not fall into step.
func (p *pacer) jittered() time.Duration {
	if math.IsInf(p.pace, 1) {
		return 0
	}
	jitter := pacerJitter
	if p.shallow {
		jitter = shallowJitter
	}
	j := 1 + jitter*(2*p.rng.Float64()-1)
	return time.Duration(j * float64(time.Second) / p.pace)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// sendCounter estimates the recent send rate over windows of two seconds.
type sendCounter struct {
	start time.Time
	n     int
	prev  float64
}

func (c *sendCounter) add(now time.Time) {
	if el := now.Sub(c.start); el > 2*time.Second {
		c.prev = float64(c.n) / el.Seconds()
		c.start, c.n = now, 0
	}
	c.n++
}

// rate returns the recent sends per second.
func (c *sendCounter) rate(now time.Time) float64 {
	cur := 0.0
	if el := now.Sub(c.start).Seconds(); el > 0.1 {
		cur = float64(c.n) / el
	}
	return max(c.prev, cur)
}
