package circleci_test

// Bad answers over real HTTP: every corruption the fake can make (Faults.Corrupt)
// on every list route, as the client reports it.

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
)

// listTarget is one list route of the fake, with an instance of it long
// enough to span two pages, read through the client's own iterator and
// through the generic circleci.Pages over the *Page operation (as the
// activities do).
type listTarget struct {
	short string // Corruption.Route
	route string // the client's route template
	n     int    // items in the list
	iter  func(ctx context.Context) (int, error)
	pages func(ctx context.Context) (int, error)
}

// drain counts the items of it up to its first error.
func drain[T any](it func(yield func(T, error) bool)) (int, error) {
	n := 0
	for _, err := range it {
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// drainPages counts the items of the pages of ps up to its first error.
func drainPages[T any](ps func(yield func(circleci.Page[T], error) bool)) (int, error) {
	n := 0
	for p, err := range ps {
		if err != nil {
			return n, err
		}
		n += len(p.Items)
	}
	return n, nil
}

// listTargets picks, in the fake's dataset, a project, a pipeline and a
// workflow whose lists span two pages.
func listTargets(t *testing.T, c *circleci.Client, d circlecitest.Dataset) []listTarget {
	t.Helper()
	slug := d.Projects[0].Slug
	org := d.Projects[0].OrganizationSlug
	wfCount, jobCount := map[string]int{}, map[string]int{}
	for _, w := range d.Workflows {
		wfCount[w.PipelineID]++
	}
	for _, j := range d.Jobs {
		jobCount[j.WorkflowID]++
	}
	var pipelineID, workflowID string
	for id, n := range wfCount {
		if n > circlecitest.PageSize && (pipelineID == "" || id < pipelineID) {
			pipelineID = id
		}
	}
	for id, n := range jobCount {
		if n > circlecitest.PageSize && (workflowID == "" || id < workflowID) {
			workflowID = id
		}
	}
	require.NotEmpty(t, pipelineID, "no pipeline with more than a page of workflows: change the dataset")
	require.NotEmpty(t, workflowID, "no workflow with more than a page of jobs: change the dataset")
	require.Greater(t, len(d.Pipelines), circlecitest.PageSize)
	require.LessOrEqual(t, len(d.Pipelines), 2*circlecitest.PageSize, "the lists have two pages")
	require.LessOrEqual(t, wfCount[pipelineID], 2*circlecitest.PageSize)
	require.LessOrEqual(t, jobCount[workflowID], 2*circlecitest.PageSize)
	return []listTarget{
		{
			short: "project_pipelines", route: circleci.RouteProjectPipelines, n: len(d.Pipelines),
			iter: func(ctx context.Context) (int, error) { return drain(c.ProjectPipelines(ctx, slug, "")) },
			pages: func(ctx context.Context) (int, error) {
				return drainPages(circleci.Pages(ctx, func(ctx context.Context, tok string) (circleci.Page[circleci.Pipeline], error) {
					return c.ProjectPipelinesPage(ctx, slug, "", tok)
				}))
			},
		},
		{
			short: "org_pipelines", route: circleci.RouteOrgPipelines, n: len(d.Pipelines),
			iter: func(ctx context.Context) (int, error) { return drain(c.OrgPipelines(ctx, org)) },
			pages: func(ctx context.Context) (int, error) {
				return drainPages(circleci.Pages(ctx, func(ctx context.Context, tok string) (circleci.Page[circleci.Pipeline], error) {
					return c.OrgPipelinesPage(ctx, org, tok)
				}))
			},
		},
		{
			short: "pipeline_workflows", route: circleci.RoutePipelineWorkflow, n: wfCount[pipelineID],
			iter: func(ctx context.Context) (int, error) { return drain(c.PipelineWorkflows(ctx, pipelineID)) },
			pages: func(ctx context.Context) (int, error) {
				return drainPages(circleci.Pages(ctx, func(ctx context.Context, tok string) (circleci.Page[circleci.Workflow], error) {
					return c.PipelineWorkflowsPage(ctx, pipelineID, tok)
				}))
			},
		},
		{
			short: "workflow_jobs", route: circleci.RouteWorkflowJobs, n: jobCount[workflowID],
			iter: func(ctx context.Context) (int, error) { return drain(c.WorkflowJobs(ctx, workflowID)) },
			pages: func(ctx context.Context) (int, error) {
				return drainPages(circleci.Pages(ctx, func(ctx context.Context, tok string) (circleci.Page[circleci.Job], error) {
					return c.WorkflowJobsPage(ctx, workflowID, tok)
				}))
			},
		},
	}
}

// checkCorruptionError checks the error a list read through a corruption of
// kind on route gives; got is how many items were read before it, of a list
// of two pages and total items.
func checkCorruptionError(t *testing.T, kind circlecitest.CorruptionKind, route string, got, total int, err error) {
	t.Helper()
	e := asAPIError(t, err)
	assert.Equal(t, route, e.Route, "the error names the route")
	assert.Equal(t, http.MethodGet, e.Method)
	assert.Contains(t, e.Error(), "GET "+route)
	assert.Less(t, len(e.Error()), 400, "a short message, not the body: %.500s", e.Error())
	for _, bodyPart := range []string{"_padding", "xxxxxxxx", "<html", "<center>", `"items"`, "project_slug"} {
		assert.NotContains(t, e.Error(), bodyPart, "the message repeats the body")
	}
	switch kind {
	case circlecitest.CorruptMalformedJSON:
		assert.Equal(t, circleci.ClassDecode, e.Class, "%v", e)
		assert.Equal(t, http.StatusOK, e.StatusCode)
		assert.Equal(t, "invalid JSON", e.Message)
		assert.False(t, e.Retryable())
		assert.Zero(t, got, "nothing of the bad page is yielded")
	case circlecitest.CorruptTruncated:
		assert.Equal(t, circleci.ClassTransport, e.Class, "a body cut short is a transport failure: %v", e)
		assert.Equal(t, http.StatusOK, e.StatusCode, "the status line had arrived")
		assert.Equal(t, "reading the response body", e.Message)
		assert.True(t, errors.Is(err, io.ErrUnexpectedEOF), "%v", e)
		assert.True(t, e.Retryable())
		assert.Zero(t, got)
	case circlecitest.CorruptOversize:
		assert.Equal(t, circleci.ClassDecode, e.Class, "%v", e)
		assert.Equal(t, http.StatusOK, e.StatusCode)
		assert.Equal(t, "response body exceeds the 8388608-byte limit", e.Message)
		assert.False(t, e.Retryable())
		assert.Zero(t, got)
	case circlecitest.CorruptWrongTypes:
		assert.Equal(t, circleci.ClassDecode, e.Class, "%v", e)
		assert.Equal(t, http.StatusOK, e.StatusCode)
		assert.Contains(t, []string{"a field has the wrong type", "expected a JSON array, got a JSON object"}, e.Message,
			"a wrong field, or a bare array turned into an object")
		assert.False(t, e.Retryable())
		assert.Zero(t, got)
	case circlecitest.CorruptHTMLError:
		assert.Equal(t, circleci.ClassServer, e.Class, "%v", e)
		assert.Equal(t, http.StatusBadGateway, e.StatusCode)
		assert.Equal(t, "HTML error page: 502 Bad Gateway", e.Message)
		assert.True(t, e.Retryable())
		assert.Zero(t, got)
	case circlecitest.CorruptPageTokenCycle:
		assert.Equal(t, circleci.ClassPagination, e.Class, "%v", e)
		assert.Zero(t, e.StatusCode)
		assert.Equal(t, "page 2 returned the next_page_token already used for page 2; stopping to avoid an endless loop", e.Message)
		assert.True(t, e.Continuation)
		assert.False(t, e.Retryable())
		assert.Equal(t, total, got, "both pages were yielded before the error")
	default:
		t.Fatalf("unknown kind %q", kind)
	}
}

func TestFakeCorruptedAnswers(t *testing.T) {
	t.Parallel()
	s := startFake(t, circlecitest.Options{Seed: 31, Projects: 1, PipelinesPerProject: 21, MaxWorkflowsPerPipeline: 23,
		MaxJobsPerWorkflow: 23})
	c := newClient(t, s, fullToken)
	ctx := testContext(t)
	targets := listTargets(t, c, s.Dataset())

	for _, kind := range circlecitest.CorruptionKinds {
		for _, tg := range targets {
			t.Run(string(kind)+"/"+tg.short, func(t *testing.T) {
				faults := circlecitest.Faults{Corrupt: []circlecitest.Corruption{{Route: tg.short, Kind: kind, First: 1}}}
				s.SetFaults(faults)
				before := s.Stats().Corrupted[kind]
				n, err := tg.iter(ctx)
				checkCorruptionError(t, kind, tg.route, n, tg.n, err)

				// The generic Pages, which the activities use, names the
				// route too (the page carries it).
				s.SetFaults(faults)
				n, err = tg.pages(ctx)
				checkCorruptionError(t, kind, tg.route, n, tg.n, err)
				assert.Equal(t, before+2, s.Stats().Corrupted[kind], "each read met exactly one corruption")

				// First: 1 is used up: the list reads whole.
				n, err = tg.iter(ctx)
				require.NoError(t, err)
				assert.Equal(t, tg.n, n)
			})
		}
	}
	s.SetFaults(circlecitest.Faults{})
	assert.Zero(t, s.Stats().RetryAfterViolations)
}

// TestFakeCorruptedSingleEntities: the corruptions of single-entity routes
// (objects and bare arrays) are classified like those of lists.
func TestFakeCorruptedSingleEntities(t *testing.T) {
	t.Parallel()
	s := startFake(t, circlecitest.Options{Seed: 5, Projects: 1, PipelinesPerProject: 2})
	c := newClient(t, s, fullToken)
	ctx := testContext(t)
	d := s.Dataset()
	calls := []struct {
		short, route string
		call         func() error
	}{
		{"me", circleci.RouteMe, func() error { _, err := c.Me(ctx); return err }},
		{"collaborations", circleci.RouteCollaborations, func() error { _, err := c.Collaborations(ctx); return err }},
		{"followed_projects", circleci.RouteFollowedProjects, func() error { _, err := c.FollowedProjects(ctx); return err }},
		{"project", circleci.RouteProject, func() error { _, err := c.Project(ctx, d.Projects[0].Slug); return err }},
		{"pipeline", circleci.RoutePipeline, func() error { _, err := c.Pipeline(ctx, d.Pipelines[0].ID); return err }},
		{"workflow", circleci.RouteWorkflow, func() error { _, err := c.Workflow(ctx, d.Workflows[0].ID); return err }},
		{"user", circleci.RouteUser, func() error { _, err := c.User(ctx, d.MeID); return err }},
	}
	for _, kind := range []circlecitest.CorruptionKind{circlecitest.CorruptMalformedJSON, circlecitest.CorruptTruncated,
		circlecitest.CorruptOversize, circlecitest.CorruptWrongTypes, circlecitest.CorruptHTMLError} {
		for _, cl := range calls {
			t.Run(string(kind)+"/"+cl.short, func(t *testing.T) {
				s.SetFaults(circlecitest.Faults{Corrupt: []circlecitest.Corruption{{Route: cl.short, Kind: kind, First: 1}}})
				checkCorruptionError(t, kind, cl.route, 0, 0, cl.call())
				require.NoError(t, cl.call(), "the next answer is whole")
			})
		}
	}
}

// stormToken is TestFakeRetryAfterStorm's own token, so that its shared
// limiter is its own.
const stormToken = "CCIPAT_stormS3CRET_61c0ffee"

func init() { secretTokens = append(secretTokens, stormToken) }

// TestFakeRetryAfterStorm: under a storm of random 429s (30%, Retry-After 1 s)
// and 500s (5%), two clients sharing the process-wide limiter of their token
// crawl everything with retries that honour Retry-After, four requests at a
// time: the crawl is complete and the fake saw no request arrive while a 429
// it had sent asked to wait.
func TestFakeRetryAfterStorm(t *testing.T) {
	t.Parallel()
	s := startFake(t, circlecitest.Options{Seed: 41, Token: stormToken, Projects: 2, PipelinesPerProject: 3,
		MaxWorkflowsPerPipeline: 2, MaxJobsPerWorkflow: 4,
		Faults: circlecitest.Faults{Random429Rate: 0.3, Random500Rate: 0.05}})
	// Learning off (+Inf): random 429s say nothing about a budget, and would teach
	// the default limiter a pace near its floor (docs/rate-limits.md, limits).
	shared := circleci.SharedLimiter(s.URL, stormToken, circleci.LimiterOptions{RequestsPerSecond: math.Inf(1)})
	c1, err := circleci.New(circleci.Options{BaseURL: s.URL, Token: stormToken})
	require.NoError(t, err)
	c2, err := circleci.New(circleci.Options{BaseURL: s.URL, Token: stormToken})
	require.NoError(t, err)
	require.Same(t, c1.Limiter(), c2.Limiter(), "one shared limiter per token")
	require.Same(t, shared, c1.Limiter())

	st := &storm{t: t, ctx: testContext(t), clients: []*circleci.Client{c1, c2}}
	got := st.crawl(4)
	checkExpected(t, got, s.Expected(stormToken))

	stats := s.Stats()
	t.Logf("requests %d, 429s %d (retried %d), 500s %d (retried %d), Retry-After violations %d, honoured %d",
		stats.Total, stats.CountStatus(http.StatusTooManyRequests), st.n429.Load(),
		stats.CountStatus(http.StatusInternalServerError), st.n500.Load(), stats.RetryAfterViolations, stats.RetryAfterHonoured)
	assert.Positive(t, stats.RetryAfterSent, "the storm sent 429s")
	assert.EqualValues(t, stats.CountStatus(http.StatusTooManyRequests), stats.RetryAfterSent, "every 429 had Retry-After")
	assert.EqualValues(t, stats.RetryAfterSent, st.n429.Load(), "every 429 was retried")
	assert.EqualValues(t, stats.CountStatus(http.StatusInternalServerError), st.n500.Load())
	assert.Positive(t, st.n500.Load(), "the storm sent 500s")
	assert.Zero(t, stats.RetryAfterViolations, "a request came while a 429 asked to wait")
	assert.Equal(t, stats.RetryAfterSent, stats.RetryAfterHonoured, "every 429's wait was kept, and a retry followed")
}

// storm crawls like crawler, with the retries the activities make (after a
// 429, wait its RetryAfter, as their NextRetryDelay does; retry a 5xx or a
// transport failure at once) and the workflows and jobs of several pipelines,
// and the users, read concurrently, each request by the next of clients.
type storm struct {
	t          *testing.T
	ctx        context.Context
	clients    []*circleci.Client
	next       atomic.Int64
	n429, n500 atomic.Int64
}

// stormAttempts bounds the tries of one request.
const stormAttempts = 60

// stormCall runs f, again while it fails retryably.
func stormCall[T any](st *storm, f func(c *circleci.Client) (T, error)) (T, error) {
	for attempt := 1; ; attempt++ {
		c := st.clients[int(st.next.Add(1))%len(st.clients)]
		v, err := f(c)
		if err == nil {
			return v, nil
		}
		e, ok := circleci.AsError(err)
		if !ok || !e.Retryable() || attempt == stormAttempts {
			return v, err
		}
		switch e.Class {
		case circleci.ClassRateLimited:
			st.n429.Add(1)
			t := time.NewTimer(max(e.RetryAfter, time.Second))
			select {
			case <-t.C:
			case <-st.ctx.Done():
				t.Stop()
				return v, st.ctx.Err()
			}
		case circleci.ClassServer:
			st.n500.Add(1)
		}
	}
}

// stormList reads every item of a list, each page fetch retried.
func stormList[T any](st *storm, page func(c *circleci.Client, ctx context.Context, tok string) (circleci.Page[T], error)) ([]T, error) {
	var out []T
	for it, err := range circleci.Items(st.ctx, func(ctx context.Context, tok string) (circleci.Page[T], error) {
		return stormCall(st, func(c *circleci.Client) (circleci.Page[T], error) { return page(c, ctx, tok) })
	}) {
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

// forEach runs f(i) for i in [0, n), width at a time, and returns the first
// error.
func forEach(n, width int, f func(i int) error) error {
	sem := make(chan struct{}, width)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs <- f(i)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// crawl reads everything, width requests at a time where the order allows.
func (st *storm) crawl(width int) crawlResult {
	t, ctx := st.t, st.ctx
	t.Helper()
	r := crawlResult{unreachable: map[string]*circleci.Error{}}
	var err error
	r.me, err = stormCall(st, func(c *circleci.Client) (circleci.User, error) { return c.Me(ctx) })
	require.NoError(t, err)
	r.collabs, err = stormCall(st, func(c *circleci.Client) ([]circleci.Collaboration, error) { return c.Collaborations(ctx) })
	require.NoError(t, err)
	r.followed, err = stormCall(st, func(c *circleci.Client) ([]circleci.FollowedProject, error) { return c.FollowedProjects(ctx) })
	require.NoError(t, err)

	r.projects = make([]circleci.Project, len(r.followed))
	perProject := make([][]circleci.Pipeline, len(r.followed))
	require.NoError(t, forEach(len(r.followed), width, func(i int) error {
		slug := r.followed[i].Slug()
		p, err := stormCall(st, func(c *circleci.Client) (circleci.Project, error) { return c.Project(ctx, slug) })
		if err != nil {
			return err
		}
		r.projects[i] = p
		perProject[i], err = stormList(st, func(c *circleci.Client, ctx context.Context, tok string) (circleci.Page[circleci.Pipeline], error) {
			return c.ProjectPipelinesPage(ctx, p.Slug, "", tok)
		})
		return err
	}))
	for _, ps := range perProject {
		r.pipelines = append(r.pipelines, ps...)
	}

	wfs := make([][]circleci.Workflow, len(r.pipelines))
	jobs := make([][]circleci.Job, len(r.pipelines))
	require.NoError(t, forEach(len(r.pipelines), width, func(i int) error {
		id := r.pipelines[i].ID
		var err error
		wfs[i], err = stormList(st, func(c *circleci.Client, ctx context.Context, tok string) (circleci.Page[circleci.Workflow], error) {
			return c.PipelineWorkflowsPage(ctx, id, tok)
		})
		if err != nil {
			return err
		}
		for _, wf := range wfs[i] {
			js, err := stormList(st, func(c *circleci.Client, ctx context.Context, tok string) (circleci.Page[circleci.Job], error) {
				return c.WorkflowJobsPage(ctx, wf.ID, tok)
			})
			if err != nil {
				return err
			}
			jobs[i] = append(jobs[i], js...)
		}
		return nil
	}))
	seenUser := map[string]bool{}
	var userIDs []string
	ref := func(ids ...*string) {
		for _, id := range ids {
			if id != nil && *id != "" && !seenUser[*id] {
				seenUser[*id] = true
				userIDs = append(userIDs, *id)
			}
		}
	}
	for i := range r.pipelines {
		for _, wf := range wfs[i] {
			r.workflows = append(r.workflows, wf)
			ref(wf.StartedBy, wf.CanceledBy, wf.ErroredBy)
		}
		for _, j := range jobs[i] {
			r.jobs = append(r.jobs, j)
			ref(j.ApprovedBy, j.CanceledBy)
		}
	}
	r.users = make([]circleci.User, len(userIDs))
	require.NoError(t, forEach(len(userIDs), width, func(i int) error {
		var err error
		r.users[i], err = stormCall(st, func(c *circleci.Client) (circleci.User, error) { return c.User(ctx, userIDs[i]) })
		return err
	}))
	return r
}
