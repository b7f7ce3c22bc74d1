package circleci

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// waitRecorder is an Observer that also records limiter waits.
type waitRecorder struct {
	mu    sync.Mutex
	waits map[string][]time.Duration
}

func (w *waitRecorder) ObserveRequest(string, string, int, time.Duration) {}

func (w *waitRecorder) ObserveWait(route string, d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.waits == nil {
		w.waits = map[string][]time.Duration{}
	}
	w.waits[route] = append(w.waits[route], d)
}

// TestRequestStats counts the requests, the 429 and the wait the 429's pause
// imposed on the request after it, in the context's RequestStats and through a
// WaitObserver; a context without RequestStats counts nothing.
func TestRequestStats(t *testing.T) {
	var n atomic.Int64
	obs := &waitRecorder{}
	c, _, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 2 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte("Rate limited."))
			return
		}
		jsonBody(200, `{"id":"u1","login":"ada","name":"Ada"}`)(w, r)
	}, func(o *Options) { o.Observer = obs })

	var st RequestStats
	ctx := WithRequestStats(context.Background(), &st)
	_, err := c.Me(ctx)
	require.NoError(t, err)
	_, err = c.Me(ctx)
	requireClass(t, err, ClassRateLimited)
	_, err = c.Me(ctx) // held by the 429's pause
	require.NoError(t, err)

	require.EqualValues(t, 3, st.Requests())
	require.EqualValues(t, 1, st.RateLimited())
	require.Positive(t, st.Wait(), "the request after the 429 waited for the pause")

	obs.mu.Lock()
	waits := obs.waits[RouteMe]
	obs.mu.Unlock()
	require.Len(t, waits, 3)
	require.Zero(t, waits[0])
	require.Positive(t, waits[2])

	// Without RequestStats nothing is counted, and nothing breaks.
	_, err = c.Me(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 3, st.Requests())
}
