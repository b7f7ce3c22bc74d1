package receiver

import (
	"context"
	"sync"
)

// DefaultMaxInFlight bounds a connection's hand-offs in flight in one
// receiver. Each Update-with-Start takes the workflow's lock in Temporal's
// history service, which refuses a caller still waiting for it 500 ms before
// its deadline ("Workflow is busy"), and refuses an 11th Update in flight
// (history.maxInFlightUpdates); a burst waits here instead, within the
// hand-off timeout.
const DefaultMaxInFlight = 8

// gate holds a semaphore per connection (ids come from the connections file,
// so the map stays small).
type gate struct {
	max   int
	mu    sync.Mutex
	slots map[string]chan struct{}
}

// acquire takes one of id's slots, or fails when ctx ends first.
func (g *gate) acquire(ctx context.Context, id string) (release func(), err error) {
	g.mu.Lock()
	if g.slots == nil {
		g.slots = map[string]chan struct{}{}
	}
	s, ok := g.slots[id]
	if !ok {
		s = make(chan struct{}, g.max)
		g.slots[id] = s
	}
	g.mu.Unlock()
	select {
	case s <- struct{}{}:
		return func() { <-s }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
