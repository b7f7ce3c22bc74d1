package circleci_test

// The fake's faults and quirks, one by one, as the real client sees them.

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
)

// ---------------------------------------------------------------------------
// 3. The fake's token bucket.

func TestFakeTokenBucket(t *testing.T) {
	t.Parallel()

	t.Run("429 with Retry-After and a plain-text body pauses the limiter", func(t *testing.T) {
		t.Parallel()
		// A bucket of 2 that refills one request every 10 s: nothing refills
		// during the test.
		s := startFake(t, circlecitest.Options{Seed: 1, Projects: 1, PipelinesPerProject: 1,
			Faults: circlecitest.Faults{RateLimit: 0.1, RateBurst: 2}})
		ctx := testContext(t)

		// Another worker with the same token spends the budget. Its own limiter
		// reads RateLimit-Remaining: at 0 it pauses until RateLimit-Reset, and
		// slows down, before any 429.
		otherLim := fastLimiter()
		other := newClient(t, s, fullToken, withLimiter(otherLim))
		for range 2 {
			_, err := other.Me(ctx)
			require.NoError(t, err)
		}
		assert.True(t, otherLim.PausedUntil().After(time.Now()), "remaining 0 pauses until the reset")
		assert.Less(t, otherLim.Rate(), otherLim.Options().RequestsPerSecond, "remaining 0 slows the limiter down")

		lim := circleci.NewLimiter(circleci.LimiterOptions{RequestsPerSecond: 50, Burst: 5, MaxConcurrent: 4})
		c := newClient(t, s, fullToken, withLimiter(lim))
		_, err := c.Project(ctx, s.Expected(fullToken).Projects[0].Slug)
		e := apiError(t, err, circleci.ClassRateLimited)
		assert.Equal(t, http.StatusTooManyRequests, e.StatusCode)
		assert.Equal(t, "Rate limited.", e.Message, "the plain-text body is the message")
		assert.GreaterOrEqual(t, e.RetryAfter, time.Second, "from Retry-After, in whole seconds")
		assert.LessOrEqual(t, e.RetryAfter, 10*time.Second)
		assert.Zero(t, e.RetryAfter%time.Second, "Retry-After is whole seconds")
		assert.True(t, e.Retryable())
		assert.True(t, circleci.IsRetryable(err))
		assert.Equal(t, circleci.RouteProject, e.Route)
		assert.Empty(t, e.NotFoundKind())
		assert.Contains(t, e.Error(), "retry after")

		// The 429 paused the limiter: every client using it is held, and a
		// caller whose deadline ends first fails at once without a request.
		assert.True(t, lim.PausedUntil().After(time.Now()), "PausedUntil %s is in the future", lim.PausedUntil())
		sibling := newClient(t, s, fullToken, withLimiter(lim))
		sent := s.Stats().Total
		short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		_, err = sibling.Me(short)
		e = apiError(t, err, circleci.ClassRateLimited)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Zero(t, e.StatusCode)
		assert.Positive(t, e.RetryAfter)
		assert.Equal(t, sent, s.Stats().Total, "the paused limiter sent nothing")

		st := s.Stats()
		assert.EqualValues(t, 1, st.CountStatus(http.StatusTooManyRequests))
		assert.EqualValues(t, 1, st.RetryAfterSent)
	})

	t.Run("SharedLimiter: clients of one base URL and token share the pause", func(t *testing.T) {
		t.Parallel()
		// sharedToken is this subtest's own, so its SharedLimiter is too.
		s := startFake(t, circlecitest.Options{Seed: 1, Projects: 1, PipelinesPerProject: 1, Token: sharedToken,
			Faults: circlecitest.Faults{RateLimit: 0.1, RateBurst: 1}})
		ctx := testContext(t)
		// Spend the bucket with a client of its own, unknown to the shared limiter.
		_, err := newClient(t, s, sharedToken).Me(ctx)
		require.NoError(t, err)

		def := func(o *circleci.Options) { o.Limiter = nil } // the default: SharedLimiter
		c1 := newClient(t, s, sharedToken, def)
		c2 := newClient(t, s, sharedToken, def)
		require.Same(t, c1.Limiter(), c2.Limiter())
		_, err = c1.Collaborations(ctx)
		e := apiError(t, err, circleci.ClassRateLimited)
		assert.Positive(t, e.RetryAfter)
		assert.True(t, c2.Limiter().PausedUntil().After(time.Now()), "c1's 429 pauses c2")
		sent := s.Stats().Total
		short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		_, err = c2.Me(short)
		apiError(t, err, circleci.ClassRateLimited)
		assert.Equal(t, sent, s.Stats().Total)
	})

	t.Run("paced at or below the fake's rate, a crawl gets no 429", func(t *testing.T) {
		t.Parallel()
		opts := circlecitest.Options{Seed: 2, Projects: 2, PipelinesPerProject: 6, MaxJobsPerWorkflow: 6,
			Faults: circlecitest.Faults{RateLimit: 100, RateBurst: 10}}

		// Control: unpaced, the same bucket turns requests away. (Raw HTTP, so
		// that no client-side pacing is involved.)
		control := startFake(t, opts)
		var wg sync.WaitGroup
		for range 60 {
			wg.Go(func() {
				req, err := http.NewRequest(http.MethodGet, control.URL+"/api/v2/me", nil)
				if err != nil {
					return
				}
				req.Header.Set("Circle-Token", fullToken)
				if resp, err := control.Client().Do(req); err == nil {
					resp.Body.Close()
				}
			})
		}
		wg.Wait()
		require.Positive(t, control.Stats().CountStatus(http.StatusTooManyRequests), "the bucket turns an unpaced burst away")

		for _, tc := range []struct {
			name  string
			lim   circleci.LimiterOptions
			pause bool // whether the fake's budget runs out (RateLimit-Remaining: 0)
		}{
			// Same rate and burst as a ceiling: the learned pace keeps a reserve, so
			// RateLimit-Remaining never reaches 0 and nothing pauses.
			{"at the fake's rate and burst", circleci.LimiterOptions{RequestsPerSecond: 100, Burst: 10, MaxConcurrent: 2}, false},
			{"below the fake's rate", circleci.LimiterOptions{RequestsPerSecond: 60, Burst: 5, MaxConcurrent: 2}, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				s := startFake(t, opts)
				lim := circleci.NewLimiter(tc.lim)
				c := newClient(t, s, fullToken, withLimiter(lim))
				// Not a timing assertion but a guard: the limiter fails at once when
				// its next slot lies past the deadline, so a stall far beyond the
				// fake's 1 s reset (as minSlowRate caused) fails the crawl.
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				defer cancel()
				cr := &crawler{t: t, ctx: ctx, c: c}
				got := cr.crawl()
				want := s.Expected(fullToken)
				checkExpected(t, got, want)
				st := s.Stats()
				n := want.MinimumRequests.Total + discoveryRequests
				require.Greater(t, n, 4*opts.Faults.RateBurst, "the crawl is far longer than the fake's burst")
				assert.EqualValues(t, n, st.Total)
				assert.Zero(t, st.CountStatus(http.StatusTooManyRequests), "no 429 in %d requests", n)
				assert.Zero(t, st.RetryAfterSent)
				assert.Equal(t, tc.pause, !lim.PausedUntil().IsZero(), "paused on RateLimit-Remaining: 0")
			})
		}
	})
}

// ---------------------------------------------------------------------------
// 4. Random 429s and 500s.

func TestFakeRandomFaultsRetried(t *testing.T) {
	t.Parallel()
	// The fault draws follow the seed, so a sequential crawl meets the same
	// faults every run: with this seed, 429s and 500s both. Each 429 holds the
	// limiter for its Retry-After (1 s), so the dataset is small.
	s := startFake(t, circlecitest.Options{Seed: 22, Projects: 2, PipelinesPerProject: 3, MaxWorkflowsPerPipeline: 2,
		MaxJobsPerWorkflow: 4, Faults: circlecitest.Faults{Random429Rate: 0.03, Random500Rate: 0.2}})
	c := newClient(t, s, fullToken)
	cr := &crawler{t: t, ctx: testContext(t), c: c, retry: true}
	got := cr.crawl()
	want := s.Expected(fullToken)
	checkExpected(t, got, want)

	var n429, n500 int
	for _, e := range cr.retried {
		assert.True(t, e.Retryable(), "%v", e)
		switch e.Class {
		case circleci.ClassRateLimited:
			n429++
			assert.Equal(t, http.StatusTooManyRequests, e.StatusCode)
			assert.Equal(t, "Rate limited.", e.Message)
			assert.Equal(t, time.Second, e.RetryAfter, "Retry-After: 1")
		case circleci.ClassServer:
			n500++
			assert.Equal(t, http.StatusInternalServerError, e.StatusCode)
			assert.Equal(t, "Internal server error.", e.Message)
			assert.Empty(t, e.NotFoundKind())
		default:
			t.Errorf("a random fault of class %s: %v", e.Class, e)
		}
	}
	assert.Positive(t, n429, "the crawl met random 429s")
	assert.Positive(t, n500, "the crawl met random 500s")

	st := s.Stats()
	assert.EqualValues(t, n429, st.CountStatus(http.StatusTooManyRequests))
	assert.EqualValues(t, n429, st.RetryAfterSent)
	assert.EqualValues(t, n500, st.CountStatus(http.StatusInternalServerError))
	assert.EqualValues(t, want.MinimumRequests.Total+discoveryRequests, st.CountStatus(http.StatusOK),
		"every request succeeded once: the budget plus the 3 discovery calls")
	assert.EqualValues(t, want.MinimumRequests.Total+discoveryRequests+len(cr.retried), st.Total,
		"the budget, the 3 discovery calls and one request per retry")
}

// ---------------------------------------------------------------------------
// 5. Broken pipelines, expired pipelines, missing users.

func TestFakeUnreachableData(t *testing.T) {
	t.Parallel()
	s := startFake(t, circlecitest.Options{Seed: 21, Projects: 2, PipelinesPerProject: 10, MaxJobsPerWorkflow: 4,
		Faults: circlecitest.Faults{BrokenPipelines: 1, ExpiredPipelines: 1, MissingUsers: 1}})
	c := newClient(t, s, fullToken)
	ctx := testContext(t)
	d := s.Dataset()
	require.Len(t, d.BrokenPipelines, 1)
	require.Len(t, d.ExpiredPipelines, 1)
	require.Len(t, d.MissingUsers, 1)

	listed := map[string]bool{}
	for _, p := range d.Projects {
		for pl, err := range c.ProjectPipelines(ctx, p.Slug, "") {
			require.NoError(t, err)
			listed[pl.ID] = true
		}
	}

	t.Run("broken pipeline: the workflow list always answers 500", func(t *testing.T) {
		id := d.BrokenPipelines[0]
		assert.True(t, listed[id], "still listed")
		p, err := c.Pipeline(ctx, id)
		require.NoError(t, err, "still readable")
		assert.Equal(t, id, p.ID)
		for range 3 {
			_, err := c.PipelineWorkflowsPage(ctx, id, "")
			e := apiError(t, err, circleci.ClassServer)
			assert.Equal(t, http.StatusInternalServerError, e.StatusCode)
			assert.Equal(t, "Internal server error.", e.Message)
			assert.Equal(t, circleci.RoutePipelineWorkflow, e.Route)
			assert.True(t, e.Retryable())
			assert.Empty(t, e.NotFoundKind())
			assert.False(t, e.Expired())
		}
		var n int
		for _, err := range c.PipelineWorkflows(ctx, id) {
			n++
			apiError(t, err, circleci.ClassServer)
		}
		assert.Equal(t, 1, n, "the iterator yields the error once")
	})

	t.Run("expired pipeline: workflow list, workflows and job lists answer 404", func(t *testing.T) {
		id := d.ExpiredPipelines[0]
		assert.True(t, listed[id], "still listed")
		_, err := c.Pipeline(ctx, id)
		require.NoError(t, err, "still readable")

		_, err = c.PipelineWorkflowsPage(ctx, id, "")
		e := apiError(t, err, circleci.ClassNotFound)
		assert.Equal(t, http.StatusNotFound, e.StatusCode)
		assert.Equal(t, "Not Found", e.Message)
		assert.True(t, e.Expired())
		assert.Equal(t, circleci.NotFoundExpired, e.NotFoundKind())
		assert.False(t, e.ProjectMissing())
		assert.False(t, e.Retryable())

		// Its workflows cannot be listed, but their ids are known (from the
		// dataset, as a sync would know them from an earlier run).
		var wfs []string
		for _, wf := range d.Workflows {
			if wf.PipelineID == id {
				wfs = append(wfs, wf.ID)
			}
		}
		require.NotEmpty(t, wfs)
		for _, wf := range wfs {
			_, err := c.WorkflowJobsPage(ctx, wf, "")
			e := apiError(t, err, circleci.ClassNotFound)
			assert.Equal(t, http.StatusNotFound, e.StatusCode)
			assert.True(t, e.Expired(), "the job list of an expired workflow")
			assert.Equal(t, circleci.RouteWorkflowJobs, e.Route)

			// GET /workflow/{id} is not a list: the client calls its 404 an entity not found.
			_, err = c.Workflow(ctx, wf)
			e = apiError(t, err, circleci.ClassNotFound)
			assert.Equal(t, circleci.NotFoundEntity, e.NotFoundKind())
		}
	})

	t.Run("missing user: 404 User does not exist.", func(t *testing.T) {
		for _, id := range []string{d.MissingUsers[0], "00000000-0000-4000-8000-000000000000"} {
			_, err := c.User(ctx, id)
			e := apiError(t, err, circleci.ClassNotFound)
			assert.Equal(t, http.StatusNotFound, e.StatusCode)
			assert.Equal(t, "User does not exist.", e.Message)
			assert.Equal(t, circleci.NotFoundEntity, e.NotFoundKind())
			assert.False(t, e.Expired())
			assert.False(t, e.ProjectMissing())
			assert.Equal(t, circleci.RouteUser, e.Route)
		}
		me, err := c.Me(ctx)
		require.NoError(t, err)
		u, err := c.User(ctx, me.ID)
		require.NoError(t, err, "the token's own user is never missing")
		assert.Equal(t, me.ID, u.ID)
	})
}

// ---------------------------------------------------------------------------
// 6. An invalid token.

func TestFakeInvalidToken(t *testing.T) {
	t.Parallel()
	s := startFake(t, circlecitest.Options{Seed: 6, Projects: 3, PipelinesPerProject: 2, MaxJobsPerWorkflow: 2})
	c := newClient(t, s, badToken)
	ctx := testContext(t)
	want := s.Expected(fullToken)
	assert.NotContains(t, c.String(), badToken)

	_, err := c.Me(ctx)
	e := apiError(t, err, circleci.ClassUnauthorized)
	assert.Equal(t, http.StatusUnauthorized, e.StatusCode)
	assert.Equal(t, "Invalid token provided.", e.Message)
	assert.Equal(t, "invalid_credentials", e.ConnectionErrorCode())
	assert.False(t, e.Retryable())

	_, err = c.Collaborations(ctx)
	assert.Equal(t, "invalid_credentials", apiError(t, err, circleci.ClassUnauthorized).ConnectionErrorCode())
	_, err = c.FollowedProjects(ctx)
	assert.Equal(t, "You must log in first.", apiError(t, err, circleci.ClassUnauthorized).Message, "v1.1")
	_, err = c.OrgPipelinesPage(ctx, "gh/acme", "")
	apiError(t, err, circleci.ClassUnauthorized)
	_, err = c.PipelineWorkflowsPage(ctx, want.Pipelines[0].ID, "")
	apiError(t, err, circleci.ClassUnauthorized)
	_, err = c.User(ctx, want.Me.ID)
	apiError(t, err, circleci.ClassUnauthorized)

	// On project routes CircleCI answers 404 Project not found, not 401.
	for _, p := range want.Projects {
		_, err := c.Project(ctx, p.Slug)
		e := apiError(t, err, circleci.ClassNotFound)
		assert.Equal(t, "Project not found", e.Message)
		assert.True(t, e.ProjectMissing(), "%s", p.Slug)
		assert.Equal(t, circleci.NotFoundProject, e.NotFoundKind())
		assert.Empty(t, e.ConnectionErrorCode(), "a 404 does not tell a bad token")

		_, err = c.ProjectPipelinesPage(ctx, p.Slug, "", "")
		e = apiError(t, err, circleci.ClassNotFound)
		assert.True(t, e.ProjectMissing(), "%s pipelines", p.Slug)
		assert.Equal(t, circleci.RouteProjectPipelines, e.Route)

		var n int
		for _, err := range c.ProjectPipelines(ctx, p.Slug, "main") {
			n++
			assert.True(t, apiError(t, err, circleci.ClassNotFound).ProjectMissing())
		}
		assert.Equal(t, 1, n)
	}
	st := s.Stats()
	assert.EqualValues(t, st.Total, st.CountStatus(http.StatusUnauthorized)+st.CountStatus(http.StatusNotFound))
}

// ---------------------------------------------------------------------------
// 7. A token limited to some projects.

func TestFakeLimitedToken(t *testing.T) {
	t.Parallel()
	s := startFake(t, circlecitest.Options{Seed: 9, Projects: 3, PipelinesPerProject: 6, MaxJobsPerWorkflow: 5,
		LimitedToken: limitedToken, LimitedProjects: 1})
	c := newClient(t, s, limitedToken)
	ctx := testContext(t)
	all := s.Expected(fullToken)
	want := s.Expected(limitedToken)
	require.Len(t, want.Projects, 1)
	visible := want.Projects[0]

	got := crawlWith(t, c)
	checkExpected(t, got, want)
	checkRequestCount(t, s.Stats(), want.MinimumRequests)
	assert.Equal(t, s.Dataset().LimitedMeID, got.me.ID, "the limited token's own user")
	assert.NotEqual(t, all.Me.ID, got.me.ID)
	for _, co := range got.collabs {
		if co.ID != nil {
			assert.Equal(t, visible.OrganizationSlug, co.Slug, "only the visible project's org")
		}
	}

	for _, p := range all.Projects[1:] {
		_, err := c.Project(ctx, p.Slug)
		e := apiError(t, err, circleci.ClassNotFound)
		assert.True(t, e.ProjectMissing(), "%s is not visible", p.Slug)
		assert.Equal(t, "Project not found", e.Message)
		_, err = c.ProjectPipelinesPage(ctx, p.Slug, "", "")
		assert.True(t, apiError(t, err, circleci.ClassNotFound).ProjectMissing())

		// Org lists leave the hidden projects out.
		var n int
		for _, err := range c.OrgPipelines(ctx, p.OrganizationSlug) {
			require.NoError(t, err)
			n++
		}
		assert.Zero(t, n, "org %s shows nothing of %s", p.OrganizationSlug, p.Slug)
	}
	for _, pl := range all.Pipelines {
		if pl.ProjectSlug != visible.Slug {
			// A hidden pipeline's workflow list is a 404 like any other on that
			// route; the client cannot tell it from retention and calls it expired.
			_, err := c.PipelineWorkflowsPage(ctx, pl.ID, "")
			e := apiError(t, err, circleci.ClassNotFound)
			assert.Equal(t, "Pipeline not found", e.Message)
			assert.False(t, e.ProjectMissing())
			break
		}
	}

	var ids []string
	for p, err := range c.OrgPipelines(ctx, "") {
		require.NoError(t, err)
		assert.Equal(t, visible.Slug, p.ProjectSlug)
		ids = append(ids, p.ID)
	}
	var wantIDs []string
	for _, p := range want.Pipelines {
		wantIDs = append(wantIDs, p.ID)
	}
	assert.Equal(t, wantIDs, ids, "the org list holds the visible project's pipelines only")
}

// ---------------------------------------------------------------------------
// 9. Latency and the concurrency cap.

func TestFakeLatencyAndConcurrencyCap(t *testing.T) {
	t.Parallel()
	const maxConcurrent, requests = 4, 32
	s := startFake(t, circlecitest.Options{Seed: 12, Projects: 3, PipelinesPerProject: 3, MaxJobsPerWorkflow: 3,
		Faults: circlecitest.Faults{Latency: 20 * time.Millisecond}})
	lim := circleci.NewLimiter(circleci.LimiterOptions{RequestsPerSecond: math.Inf(1), Burst: 1, MaxConcurrent: maxConcurrent})

	// The observer runs while the request still holds its slot.
	var peak atomic.Int64
	note := func(n int) {
		for {
			p := peak.Load()
			if int64(n) <= p || peak.CompareAndSwap(p, int64(n)) {
				return
			}
		}
	}
	obs := circleci.ObserverFunc(func(string, string, int, time.Duration) { note(lim.InFlight()) })
	c := newClient(t, s, fullToken, withLimiter(lim), withObserver(obs))
	ctx := testContext(t)
	want := s.Expected(fullToken)

	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() { // samples InFlight while the requests run
		defer close(sampled)
		for {
			note(lim.InFlight())
			select {
			case <-stop:
				return
			default:
				time.Sleep(100 * time.Microsecond)
			}
		}
	}()

	var wg sync.WaitGroup
	errs := make(chan error, requests)
	for i := range requests {
		wg.Go(func() {
			var err error
			switch i % 4 {
			case 0:
				_, err = c.Me(ctx)
			case 1:
				_, err = c.Project(ctx, want.Projects[i%len(want.Projects)].Slug)
			case 2:
				_, err = c.ProjectPipelinesPage(ctx, want.Projects[i%len(want.Projects)].Slug, "", "")
			case 3:
				_, err = c.User(ctx, want.Me.ID)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(stop)
	<-sampled
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}

	st := s.Stats()
	assert.EqualValues(t, requests, st.Total)
	assert.LessOrEqual(t, st.MaxConcurrent, int64(maxConcurrent), "the fake never saw more than MaxConcurrent at once")
	assert.GreaterOrEqual(t, st.MaxConcurrent, int64(2), "requests did overlap")
	assert.LessOrEqual(t, peak.Load(), int64(maxConcurrent), "InFlight never exceeded MaxConcurrent")
	assert.Positive(t, peak.Load())
	assert.Zero(t, lim.InFlight(), "every slot released")
}

// ---------------------------------------------------------------------------
// 11. Odd project slugs reach the fake correctly escaped.

// requestURIs records the request target of every request a handler serves,
// exactly as it arrived on the wire.
type requestURIs struct {
	mu   sync.Mutex
	uris []string
}

func (r *requestURIs) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.uris = append(r.uris, req.RequestURI)
		r.mu.Unlock()
		h.ServeHTTP(w, req)
	})
}

func (r *requestURIs) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.uris) == 0 {
		return ""
	}
	return r.uris[len(r.uris)-1]
}

func TestFakeOddProjectSlugs(t *testing.T) {
	t.Parallel()
	// The fake's handler behind a recorder of the raw request line, to see
	// the path the fake receives.
	fake := circlecitest.NewHandler(circlecitest.Options{Seed: 13, Projects: 3, PipelinesPerProject: 1, Token: fullToken})
	rec := &requestURIs{}
	hs := httptest.NewServer(rec.wrap(fake))
	t.Cleanup(hs.Close)
	c, err := circleci.New(circleci.Options{BaseURL: hs.URL, Token: fullToken, Limiter: fastLimiter()})
	require.NoError(t, err)
	ctx := testContext(t)

	cases := []struct{ slug, escaped string }{
		{"gh/acme/100%", "gh%2Facme%2F100%25"},
		{"gh/acme/my repo", "gh%2Facme%2Fmy%20repo"},
		{"gh/acme/ünïcødé", "gh%2Facme%2F%C3%BCn%C3%AFc%C3%B8d%C3%A9"},
		{"bb/acme/what?x=1#frag", "bb%2Facme%2Fwhat%3Fx=1%23frag"},
		{"circleci/org id/50%+off", "circleci%2Forg%20id%2F50%25+off"},
		{"gh/acme/a%2Fb", "gh%2Facme%2Fa%252Fb"},
		{"gh/acme/..", "gh%2Facme%2F.."},
		{"gh/acme/日本", "gh%2Facme%2F%E6%97%A5%E6%9C%AC"},
	}
	for _, tc := range cases {
		for _, op := range []struct {
			suffix, route string
			call          func() error
		}{
			{"", circleci.RouteProject, func() error { _, err := c.Project(ctx, tc.slug); return err }},
			{"/pipeline", circleci.RouteProjectPipelines, func() error {
				_, err := c.ProjectPipelinesPage(ctx, tc.slug, "", "")
				return err
			}},
		} {
			err := op.call()
			e := apiError(t, err, circleci.ClassNotFound)
			assert.Equal(t, http.StatusNotFound, e.StatusCode, "%q", tc.slug)
			assert.Equal(t, "Project not found", e.Message, "%q: the fake matched a project route", tc.slug)
			assert.True(t, e.ProjectMissing(), "%q", tc.slug)
			assert.Equal(t, op.route, e.Route)
			assert.NotContains(t, e.Error(), tc.slug, "errors name the route, not the slug")

			uri := rec.last()
			assert.Equal(t, "/api/v2/project/"+tc.escaped+op.suffix, uri, "%q", tc.slug)
			seg := strings.TrimSuffix(strings.TrimPrefix(uri, "/api/v2/project/"), op.suffix)
			unescaped, uerr := url.PathUnescape(seg)
			require.NoError(t, uerr)
			assert.Equal(t, tc.slug, unescaped, "one segment that unescapes to the slug")
		}
	}
	st := fake.Stats()
	assert.EqualValues(t, len(cases), st.Count(circlecitest.RouteProject, http.StatusNotFound))
	assert.EqualValues(t, len(cases), st.Count(circlecitest.RouteProjectPipelines, http.StatusNotFound))
	assert.Zero(t, st.Count("GET (unmatched)", 0))

	// The fake does unescape: the long VCS name of a real project's slug,
	// escaped the same way, finds it.
	p, err := c.Project(ctx, "github/acme/api")
	require.NoError(t, err)
	assert.Equal(t, "gh/acme/api", p.Slug)
	assert.Equal(t, "/api/v2/project/github%2Facme%2Fapi", rec.last())

	// An empty slug is refused before any request.
	_, err = c.Project(ctx, "")
	e := apiError(t, err, circleci.ClassBadRequest)
	assert.Zero(t, e.StatusCode, "no request was sent")
	assert.Equal(t, circleci.RouteProject, e.Route)
}
