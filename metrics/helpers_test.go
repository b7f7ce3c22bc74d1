package metrics

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/circleci-sync/circleci-sync/internal/testenv"
	"github.com/circleci-sync/circleci-sync/store"
)

// newTestLogger logs text to w.
func newTestLogger(w *testenv.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, nil))
}

// errFake is the error of fakeStore's failing reads.
var errFake = errors.New("fake store: read failed")

// fakeStore answers the freshness collector's reads from its fields and counts
// them; the other methods are not implemented (nil embedded Store).
type fakeStore struct {
	store.Store
	mu                   sync.Mutex
	newest               map[string]time.Time
	conns                []store.ConnectionState
	failNewest, failConn bool
	calls                int
	// deadlines records, for each read, whether its context had a deadline and
	// how far away it was, by the store's clock of the call (time.Until).
	deadlines []time.Duration
}

// NewestPipelines implements store.Store.
func (f *fakeStore) NewestPipelines(ctx context.Context) (map[string]time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.recordDeadline(ctx)
	if f.failNewest {
		return nil, errFake
	}
	return f.newest, nil
}

// ConnectionStates implements store.Store.
func (f *fakeStore) ConnectionStates(ctx context.Context) ([]store.ConnectionState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recordDeadline(ctx)
	if f.failConn {
		return nil, errFake
	}
	return f.conns, nil
}

// recordDeadline appends ctx's deadline distance, or -1 without one.
func (f *fakeStore) recordDeadline(ctx context.Context) {
	d, ok := ctx.Deadline()
	if !ok {
		f.deadlines = append(f.deadlines, -1)
		return
	}
	f.deadlines = append(f.deadlines, time.Until(d))
}

// callCount is how many times NewestPipelines was called.
func (f *fakeStore) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}
