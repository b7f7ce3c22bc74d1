package activities

import (
	"sync"
	"time"
)

// liveReporter sends the latest LiveProgress it was given at the start of the
// next slot of `every`, at most one per slot. Slots align on the wall clock, so
// the reports of a connection's projects reach it together and share its
// workflow tasks. The sends are serialized; none happens after stop.
type liveReporter struct {
	every time.Duration
	send  func(LiveProgress)

	mu      sync.Mutex
	pending *LiveProgress
	timer   *time.Timer // armed or sending
	stopped bool
	flights sync.WaitGroup
}

func newLiveReporter(every time.Duration, send func(LiveProgress)) *liveReporter {
	return &liveReporter{every: every, send: send}
}

// update makes p the progress to send next.
func (l *liveReporter) update(p LiveProgress) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return
	}
	l.pending = &p
	if l.timer == nil {
		l.arm()
	}
}

// arm schedules the next send (l.mu held).
func (l *liveReporter) arm() {
	l.flights.Add(1)
	l.timer = time.AfterFunc(l.wait(time.Now()), l.flush)
}

// wait is the time from now to the next send: the start of the next slot
// (sends happen at slot starts, so never two in one slot).
func (l *liveReporter) wait(now time.Time) time.Duration {
	return now.Truncate(l.every).Add(l.every).Sub(now)
}

// flush sends the pending progress, then arms again if more came meanwhile.
func (l *liveReporter) flush() {
	defer l.flights.Done()
	l.mu.Lock()
	p := l.pending
	l.pending = nil
	stopped := l.stopped
	l.mu.Unlock()
	if p != nil && !stopped {
		l.send(*p)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.timer = nil
	if l.pending != nil && !l.stopped {
		l.arm()
	}
}

// stop cancels the pending send and waits for one in flight.
func (l *liveReporter) stop() {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.stopped = true
	if l.timer != nil && l.timer.Stop() {
		l.flights.Done()
		l.timer = nil
	}
	l.mu.Unlock()
	l.flights.Wait()
}
