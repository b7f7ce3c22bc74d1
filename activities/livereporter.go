package activities

import (
	"sync"
	"time"
)

// liveReporter sends the latest LiveProgress it was given, at most every
// `every`: at once when the last send is that old, else when it will be. The
// sends are serialized; none happens after stop returns.
type liveReporter struct {
	every time.Duration
	send  func(LiveProgress)

	mu      sync.Mutex
	last    time.Time
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
	l.timer = time.AfterFunc(max(0, time.Until(l.last.Add(l.every))), l.flush)
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
	l.last, l.timer = time.Now(), nil
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
