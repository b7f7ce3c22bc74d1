package receiver

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/circleci-sync/circleci-sync/workflows"
)

// concurrentHandoff takes 50 ms per hand-off and records the most in flight.
type concurrentHandoff struct {
	mu        sync.Mutex
	now, most int
}

func (c *concurrentHandoff) Handoff(context.Context, workflows.ConnectionSyncInput, workflows.TargetRequest) (workflows.TargetResult, error) {
	c.mu.Lock()
	c.now++
	c.most = max(c.most, c.now)
	c.mu.Unlock()
	time.Sleep(50 * time.Millisecond)
	c.mu.Lock()
	c.now--
	c.mu.Unlock()
	return workflows.TargetResult{Status: workflows.TargetQueued}, nil
}

// TestBurstWaitsForASlot: a burst of 40 events on one connection is handed
// off at most MaxInFlight at a time (Temporal refuses more than 10 in-flight
// Updates per workflow), and every event is accepted within the timeout.
func TestBurstWaitsForASlot(t *testing.T) {
	h := &concurrentHandoff{}
	r := newReceiver(t, Options{Handoff: h, MaxInFlight: 4, HandoffTimeout: 5 * time.Second})
	codes := make([]int, 40)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Go(func() {
			codes[i] = r.post(t, "/circleci/acme", event(fmt.Sprintf("e-%d", i), "github/acme/api"), nil).StatusCode
		})
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusAccepted {
			t.Errorf("event %d: %d", i, c)
		}
	}
	if h.most > 4 || h.most < 2 {
		t.Errorf("%d hand-offs in flight at most, want 2 to 4", h.most)
	}
}

// TestSlotWaitIsBounded: with every slot held past the hand-off timeout, the
// next event is answered 503 (CircleCI retries) in time.
func TestSlotWaitIsBounded(t *testing.T) {
	r := newReceiver(t, Options{Handoff: &fakeHandoff{block: true}, MaxInFlight: 1, HandoffTimeout: 300 * time.Millisecond})
	done := make(chan int)
	go func() { done <- r.post(t, "/circleci/acme", event("e-1", "github/acme/api"), nil).StatusCode }()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	if c := r.post(t, "/circleci/acme", event("e-2", "github/acme/api"), nil).StatusCode; c != http.StatusServiceUnavailable {
		t.Errorf("waiting for a slot: %d, want 503", c)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("answered after %v", d)
	}
	if c := <-done; c != http.StatusServiceUnavailable {
		t.Errorf("the blocked hand-off: %d, want 503", c)
	}
}
