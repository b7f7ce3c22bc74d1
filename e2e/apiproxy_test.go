package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// apiRequest is one request through an apiProxy.
type apiRequest struct {
	Arrived    time.Time // when the proxy received it
	Answered   time.Time // when the proxy forwarded the answer
	Method     string
	Path       string
	Status     int
	RetryAfter time.Duration // of a 429 (0 when none)
	// Delivered is false when the client had given up on the request (its
	// context was cancelled) by the time the answer was written: it never saw
	// the answer (and its Retry-After).
	Delivered bool
}

// apiProxy is a reverse proxy to the fake that records the requests.
type apiProxy struct {
	// URL is the proxy's base URL: give it to the syncs as base_url.
	URL string

	mu   sync.Mutex
	reqs []apiRequest
	// rewrite, if set, may change a 200 answer's body; it returns the new body
	// and how many entities it changed.
	rewrite  func(path string, body []byte) ([]byte, int)
	rewrites int
}

// startAPIProxy starts a proxy to the fake at target (closed when t ends).
func startAPIProxy(t *testing.T, target string) *apiProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("proxy target %s: %v", target, err)
	}
	p := &apiProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		p.mu.Lock()
		rewrite := p.rewrite
		p.mu.Unlock()
		if rewrite == nil || resp.StatusCode != http.StatusOK {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return err
		}
		body, n := rewrite(resp.Request.URL.Path, body)
		p.mu.Lock()
		p.rewrites += n
		p.mu.Unlock()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		rp.ServeHTTP(rec, r)
		req := apiRequest{Arrived: arrived, Answered: rec.wrote, Method: r.Method, Path: r.URL.Path, Status: rec.status,
			Delivered: r.Context().Err() == nil}
		if rec.status == http.StatusTooManyRequests {
			if s, err := strconv.Atoi(rec.Header().Get("Retry-After")); err == nil {
				req.RetryAfter = time.Duration(s) * time.Second
			}
		}
		p.mu.Lock()
		p.reqs = append(p.reqs, req)
		p.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// setRewrite sets (or, with nil, clears) the body rewriter.
func (p *apiProxy) setRewrite(f func(path string, body []byte) ([]byte, int)) {
	p.mu.Lock()
	p.rewrite = f
	p.mu.Unlock()
}

// rewritten returns how many entities the rewriter changed.
func (p *apiProxy) rewritten() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rewrites
}

// requests returns the requests recorded so far, in arrival order.
func (p *apiProxy) requests() []apiRequest {
	p.mu.Lock()
	out := append([]apiRequest(nil), p.reqs...)
	p.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].Arrived.Before(out[j].Arrived) })
	return out
}

// statusRecorder remembers the status and when the header was written.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  time.Time
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status, r.wrote = code, time.Now()
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status, r.wrote = http.StatusOK, time.Now()
	}
	return r.ResponseWriter.Write(b)
}

// retryAfterReport is the check of the client's respect of Retry-After.
type retryAfterReport struct {
	Windows     int // 429s with a Retry-After
	Undelivered int // 429s written to a request the client had given up on
	// Shortened counts the windows cut to an earlier 429's (see
	// retryAfterViolations).
	Shortened  int
	Violations int // requests that arrived inside a window
	Examples   []string
	// Stray counts 429s with a Retry-After sent to requests that were not
	// CircleCI API requests (another test's client on a reused port).
	Stray int
}

// retryAfterViolations checks every 429 with a Retry-After in reqs: a request
// that arrived after the 429 was answered plus grace (requests already on
// their way) and before its retry time (answer + Retry-After) is a violation.
// All requests count: the syncs share one token, and CircleCI's limit is per
// token.
//
// An activity stops its other requests when one fails, so a 429 answered
// within grace after another one may go to a request the client has already
// cancelled: it never sees that answer. Such a 429's window is taken to end
// with the earlier one's; a 429 the proxy knows undelivered opens none.
func retryAfterViolations(reqs []apiRequest, grace time.Duration) retryAfterReport {
	var rep retryAfterReport
	var limited []apiRequest
	// Only CircleCI API requests count: a test running beside this one may leave
	// a gRPC client retrying a port this proxy now holds (its "PRI *" prefaces).
	reqs = slices.DeleteFunc(slices.Clone(reqs), func(r apiRequest) bool {
		stray := !strings.HasPrefix(r.Path, "/api/")
		if stray && r.Status == http.StatusTooManyRequests && r.RetryAfter > 0 {
			rep.Stray++
		}
		return stray
	})
	for _, r := range reqs {
		if r.Status == http.StatusTooManyRequests && r.RetryAfter > 0 {
			limited = append(limited, r)
		}
	}
	sort.Slice(limited, func(i, j int) bool { return limited[i].Answered.Before(limited[j].Answered) })
	for i, r := range limited {
		if !r.Delivered {
			rep.Undelivered++
			continue
		}
		rep.Windows++
		from, until := r.Answered.Add(grace), r.Answered.Add(r.RetryAfter)
		for j := i - 1; j >= 0 && r.Answered.Sub(limited[j].Answered) <= grace; j-- {
			if end := limited[j].Answered.Add(limited[j].RetryAfter); end.Before(until) {
				until = end
				rep.Shortened++
			}
		}
		for _, o := range reqs {
			if o.Arrived.After(from) && o.Arrived.Before(until) {
				rep.Violations++
				if len(rep.Examples) < 5 {
					rep.Examples = append(rep.Examples, fmt.Sprintf("%s %s arrived %s after a 429 (Retry-After %s) of %s",
						o.Method, o.Path, o.Arrived.Sub(r.Answered).Round(time.Millisecond), r.RetryAfter, r.Path))
				}
			}
		}
	}
	return rep
}
