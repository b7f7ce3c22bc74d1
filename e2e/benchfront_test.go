package e2e

import (
	"context"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
)

// fakeFront serves a fake CircleCI API (built with circlecitest.NewHandler) over
// HTTP on a loopback port and records every API request: when it arrived and
// when it was answered. The fake itself is unchanged: its Stats, Expected,
// Dataset and Advance work as usual.
//
// A request whose Circle-Token is one of aliases is counted under the alias's
// name and passed on with the fake's own token: processes given different
// tokens can so be told apart while they share the fake's data, page tokens and
// single token bucket (which all tokens share anyway).
type fakeFront struct {
	fake *circlecitest.Server
	// URL is the base URL to give clients: "http://127.0.0.1:port".
	URL     string
	srv     *http.Server
	base    time.Time
	aliases map[string]string

	mu      sync.Mutex
	spans   []reqSpan
	byAlias map[string]int64
	unknown int64 // requests whose token is not an alias (when aliases are set)
}

// reqSpan is one API request: arrival and answer, since the front's base time,
// what it asked for, and the RateLimit-Remaining the fake answered (-1 when
// it sent none).
type reqSpan struct {
	start, end time.Duration
	kind       string
	remaining  int
}

// Request kinds (reqSpan.kind), from the path.
const (
	kindDiscovery = "discovery"     // /me, /me/collaborations, v1.1 /projects, the org pipeline list
	kindProject   = "project"       // GET /project/{slug}
	kindPages     = "pipeline list" // a project's pipeline list
	kindPipeline  = "pipeline"      // GET /pipeline/{id}
	kindWorkflows = "workflow list" // a pipeline's workflow list
	kindJobs      = "job list"      // a workflow's job list
	kindUser      = "user"          // GET /user/{id}
	kindOther     = "other"
)

// requestKinds lists the kinds in the order a sync's phases go.
var requestKinds = []string{kindDiscovery, kindProject, kindPages, kindPipeline, kindWorkflows, kindJobs, kindUser, kindOther}

// kindOf classifies an API request path.
func kindOf(path string) string {
	p := strings.TrimSuffix(path, "/")
	switch {
	case p == "/api/v2/me", p == "/api/v2/me/collaborations", p == "/api/v1.1/projects", p == "/api/v2/pipeline":
		return kindDiscovery
	case strings.HasPrefix(p, "/api/v2/project/") && strings.HasSuffix(p, "/pipeline"):
		return kindPages
	case strings.HasPrefix(p, "/api/v2/project/"):
		return kindProject
	case strings.HasPrefix(p, "/api/v2/pipeline/") && strings.HasSuffix(p, "/workflow"):
		return kindWorkflows
	case strings.HasPrefix(p, "/api/v2/pipeline/"):
		return kindPipeline
	case strings.HasPrefix(p, "/api/v2/workflow/") && strings.HasSuffix(p, "/job"):
		return kindJobs
	case strings.HasPrefix(p, "/api/v2/user/"):
		return kindUser
	}
	return kindOther
}

// startFront starts a front for a new fake made with opts; it is closed when tb
// ends. aliases maps client tokens to names (nil for none).
func startFront(tb testing.TB, opts circlecitest.Options, aliases map[string]string) *fakeFront {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen for the fake CircleCI: %v", err)
	}
	f := &fakeFront{
		fake: circlecitest.NewHandler(opts), URL: "http://" + l.Addr().String(), base: time.Now(),
		aliases: aliases, byAlias: map[string]int64{},
	}
	f.srv = &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = f.srv.Serve(l) }() // http.ErrServerClosed on Shutdown
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := f.srv.Shutdown(ctx); err != nil {
			_ = f.srv.Close()
		}
	})
	return f
}

// ServeHTTP records API requests and passes every request to the fake.
func (f *fakeFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/api/") {
		f.fake.ServeHTTP(w, r)
		return
	}
	start := time.Since(f.base)
	if f.aliases != nil {
		name, ok := f.aliases[r.Header.Get("Circle-Token")]
		f.mu.Lock()
		if ok {
			f.byAlias[name]++
		} else {
			f.unknown++
		}
		f.mu.Unlock()
		if ok {
			r.Header.Set("Circle-Token", f.fake.Token())
		}
	}
	f.fake.ServeHTTP(w, r)
	end := time.Since(f.base)
	remaining := -1
	if v := w.Header().Get("RateLimit-Remaining"); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			remaining = n
		}
	}
	f.mu.Lock()
	f.spans = append(f.spans, reqSpan{start: start, end: end, kind: kindOf(r.URL.Path), remaining: remaining})
	f.mu.Unlock()
}

// reset forgets the requests recorded and zeroes the fake's Stats.
func (f *fakeFront) reset() {
	f.mu.Lock()
	f.spans = nil
	f.byAlias = map[string]int64{}
	f.unknown = 0
	f.mu.Unlock()
	f.fake.ResetStats()
}

// since returns the time from the front's base to t.
func (f *fakeFront) since(t time.Time) time.Duration { return t.Sub(f.base) }

// recorded returns the requests recorded since the last reset, and the counts
// by alias (and of requests with another token).
func (f *fakeFront) recorded() ([]reqSpan, map[string]int64, int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	by := make(map[string]int64, len(f.byAlias))
	for k, v := range f.byAlias {
		by[k] = v
	}
	return slices.Clone(f.spans), by, f.unknown
}

// arrivalStats sums up when the requests of one sync arrived at the fake.
type arrivalStats struct {
	// N is the number of requests.
	N int
	// FirstArrival is when the first request arrived, after the sync started;
	// Tail is how long the sync went on after the last answer.
	FirstArrival, Tail time.Duration
	// Overall is N over the sync's wall time.
	Overall float64
	// Steady is the rate between the arrivals of the 5th and the 95th
	// percentile requests (90% of them), leaving out the start and the tail.
	Steady float64
	// SteadyFrom and SteadyTo bound that window, since the sync's start.
	SteadyFrom, SteadyTo time.Duration
	// MeanInFlight is the mean number of requests in flight over the wall time;
	// SteadyInFlight over the steady window.
	MeanInFlight, SteadyInFlight float64
	// MaxInFlight is the largest number of requests in flight at once.
	MaxInFlight int
	// PerSecond counts the arrivals in each second of the sync.
	PerSecond []int
	// Phases are, by request kind, the first and last arrivals and the count.
	Phases map[string]phase
	// MinRemaining is the lowest RateLimit-Remaining the fake answered (-1:
	// it sent none); LowRemaining counts the answers with less than a tenth
	// of the bucket left, ZeroRemaining those with none.
	MinRemaining, LowRemaining, ZeroRemaining int
}

// phase is when the requests of one kind arrived.
type phase struct {
	N           int
	First, Last time.Duration
}

// analyzeArrivals sums up spans (front times) of a sync that started at start
// (front time) and took wall; bucket is the fake's bucket size (0: none).
func analyzeArrivals(spans []reqSpan, start, wall time.Duration, bucket int) arrivalStats {
	st := arrivalStats{N: len(spans)}
	if len(spans) == 0 || wall <= 0 {
		return st
	}
	rel := make([]reqSpan, len(spans))
	for i, s := range spans {
		rel[i] = s
		rel[i].start, rel[i].end = s.start-start, s.end-start
	}
	slices.SortFunc(rel, func(a, b reqSpan) int { return int(a.start - b.start) })
	st.FirstArrival = rel[0].start
	st.Phases = map[string]phase{}
	st.MinRemaining = -1
	for _, s := range rel {
		ph, ok := st.Phases[s.kind]
		if !ok {
			ph.First = s.start
		}
		ph.N++
		ph.Last = s.start
		st.Phases[s.kind] = ph
		if s.remaining >= 0 {
			if st.MinRemaining < 0 || s.remaining < st.MinRemaining {
				st.MinRemaining = s.remaining
			}
			if s.remaining == 0 {
				st.ZeroRemaining++
			}
			if s.remaining*10 < bucket {
				st.LowRemaining++
			}
		}
	}
	lastEnd := time.Duration(0)
	for _, s := range rel {
		lastEnd = max(lastEnd, s.end)
	}
	st.Tail = max(0, wall-lastEnd)
	st.Overall = float64(len(rel)) / wall.Seconds()
	i5, i95 := len(rel)*5/100, len(rel)*95/100
	if i95 >= len(rel) {
		i95 = len(rel) - 1
	}
	st.SteadyFrom, st.SteadyTo = rel[i5].start, rel[i95].start
	if d := st.SteadyTo - st.SteadyFrom; d > 0 {
		st.Steady = float64(i95-i5) / d.Seconds()
		st.SteadyInFlight = inFlight(rel, st.SteadyFrom, st.SteadyTo)
	}
	st.MeanInFlight = inFlight(rel, 0, wall)
	st.PerSecond = make([]int, int(wall/time.Second)+1)
	for _, s := range rel {
		if i := int(s.start / time.Second); i >= 0 && i < len(st.PerSecond) {
			st.PerSecond[i]++
		}
	}
	// The largest number in flight: a sweep over arrivals (+1) and answers (-1).
	type edge struct {
		t time.Duration
		d int
	}
	edges := make([]edge, 0, 2*len(rel))
	for _, s := range rel {
		edges = append(edges, edge{s.start, 1}, edge{s.end, -1})
	}
	slices.SortFunc(edges, func(a, b edge) int {
		if a.t != b.t {
			return int(a.t - b.t)
		}
		return a.d - b.d // answers first at the same instant
	})
	n := 0
	for _, e := range edges {
		n += e.d
		st.MaxInFlight = max(st.MaxInFlight, n)
	}
	return st
}

// inFlight is the mean number of requests in flight between from and to.
func inFlight(spans []reqSpan, from, to time.Duration) float64 {
	if to <= from {
		return 0
	}
	var busy time.Duration
	for _, s := range spans {
		if a, b := max(s.start, from), min(s.end, to); b > a {
			busy += b - a
		}
	}
	return busy.Seconds() / (to - from).Seconds()
}
