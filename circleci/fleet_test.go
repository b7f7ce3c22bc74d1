package circleci

import (
	"context"
	"math"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
)

// fleetRun is one measured run against the fake's token bucket: instances
// limiters, each with its own http client (as separate worker processes), share
// one token; each has callers sending requests back to back.
type fleetRun struct {
	budget    float64       // the bucket's requests/s
	bucket    float64       // the bucket's size in seconds of the budget (0: the fake's one second)
	instances int           // limiters sharing the token
	callers   int           // callers per limiter
	latency   time.Duration // the fake's latency per request
	dur       time.Duration
	dropTo    float64 // when above 0, the budget after half of dur
	// mangle rewrites the bucket's answers (simulate only).
	mangle func(status int, h http.Header)
}

// burst is the bucket's size at budget: fr.bucket seconds of it, at least one request.
func (fr fleetRun) burst(budget float64) int {
	return max(1, int(math.Ceil(budget*max(fr.bucket, 1))))
}

// fleetResult is what the fake answered during a run.
type fleetResult struct {
	ok, limited int64
	used        float64       // 2xx answers over what the bucket could give
	share429    float64       // 429 answers over all answers
	follow      time.Duration // after a drop, until the answers fit the new budget (followTime)
	sends       []time.Time   // the simulation's answers
}

// runFleet runs fr and reads the fake's counters.
func runFleet(t testing.TB, fr fleetRun) fleetResult {
	s := circlecitest.NewServer(circlecitest.Options{Projects: 1, PipelinesPerProject: -1,
		Faults: circlecitest.Faults{RateLimit: fr.budget, RateBurst: fr.burst(fr.budget), Latency: fr.latency}})
	defer s.Close()
	// Cancelled, not a deadline: a limiter fails at once on a slot past a deadline.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	time.AfterFunc(fr.dur, cancel)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		sends []time.Duration // when each answer came, from the start
	)
	for range fr.instances {
		c, err := New(Options{BaseURL: s.URL, Token: circlecitest.DefaultToken,
			Limiter: NewLimiter(LimiterOptions{}), HTTPClient: NewDefaultHTTPClient()})
		require.NoError(t, err)
		for range fr.callers {
			wg.Go(func() {
				for ctx.Err() == nil {
					if _, err := c.Me(ctx); ctx.Err() == nil && err != context.Canceled {
						mu.Lock()
						sends = append(sends, time.Since(start))
						mu.Unlock()
					}
				}
			})
		}
	}
	capacity := fr.budget * fr.dur.Seconds()
	if fr.dropTo > 0 {
		time.Sleep(fr.dur / 2)
		s.SetFaults(circlecitest.Faults{RateLimit: fr.dropTo, RateBurst: fr.burst(fr.dropTo), Latency: fr.latency})
		capacity = (fr.budget+fr.dropTo)*fr.dur.Seconds()/2 + float64(fr.burst(fr.dropTo))
	}
	wg.Wait()
	st := s.Stats()
	r := fleetResult{ok: st.CountStatus(http.StatusOK), limited: st.CountStatus(http.StatusTooManyRequests)}
	r.used = float64(r.ok) / (capacity + float64(fr.burst(fr.budget))) // the bucket starts full
	if st.Total > 0 {
		r.share429 = float64(r.limited) / float64(st.Total)
	}
	if fr.dropTo > 0 {
		r.follow = followTime(sends, fr.dur/2, fr.dur, fr.dropTo)
	}
	return r
}

// followTime is how long after drop the answers took to fit budget: the end of the
// last one-second window with more than a quarter over budget (and one request).
func followTime(at []time.Duration, drop, end time.Duration, budget float64) time.Duration {
	slices.Sort(at)
	var follow time.Duration
	for w := drop; w+time.Second <= end; w += 100 * time.Millisecond {
		lo, _ := slices.BinarySearch(at, w)
		hi, _ := slices.BinarySearch(at, w+time.Second)
		if float64(hi-lo) > 1.25*budget+1 {
			follow = w + time.Second - drop
		}
	}
	return follow
}

// TestAdaptiveLimiterFleet: two limiters on one token, told nothing, share a budget
// of 20/s between them with few 429s. Loose bounds: it checks learning, not timing.
func TestAdaptiveLimiterFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("a 4 s run against the fake")
	}
	r := runFleet(t, fleetRun{budget: 20, instances: 2, callers: 8, dur: 4 * time.Second})
	t.Logf("ok %d, 429 %d, used %.2f, 429 share %.3f", r.ok, r.limited, r.used, r.share429)
	assert.Less(t, r.share429, 0.05, "429 share")
	assert.Greater(t, r.used, 0.6, "share of the budget used")
}
