package activities

import (
	"context"
	"strings"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// client is the CircleCI client of one activity run: it counts and bounds its
// requests and owns the one retry policy, heartbeating while it waits: a 5xx
// is tried again after each of delays, a 429 up to rateLimitRetries times, a
// list whose page token answered 404 is listed again after each of delays.
type client struct {
	c      *circleci.Client
	stats  circleci.RequestStats
	sem    chan struct{}
	users  *userFetches // shares the process's fetches of a user (nil: none)
	delays []time.Duration
	hb     *heartbeater // nil: no heartbeat while waiting
}

// defaultRetryDelays are the waits between the in-activity tries.
var defaultRetryDelays = []time.Duration{250 * time.Millisecond, 500 * time.Millisecond}

// rateLimitRetries is how many times a 429 is tried again, after the
// limiter's pause, before the activity fails with ErrRateLimited.
const rateLimitRetries = 4

// newClient returns the client of one activity run for conn.
func (a *Activities) newClient(ctx context.Context, conn Connection) (*client, error) {
	if strings.TrimSpace(conn.ConnectionID) == "" {
		return nil, nonRetryable("the connection has no connection_id", ErrInvalidInput)
	}
	if err := a.checkConnection(conn); err != nil {
		return nil, err
	}
	cl, err := a.Clients.Client(ctx, conn, a.Credentials)
	if err != nil {
		return nil, err
	}
	delays := a.retryDelays
	if delays == nil {
		delays = defaultRetryDelays
	}
	return &client{c: cl, sem: make(chan struct{}, a.concurrency()), users: a.Clients.userFlights(),
		delays: delays}, nil
}

// do sends one request under the retry policy.
func do[T any](ctx context.Context, c *client, call func(ctx context.Context) (T, error)) (T, error) {
	for server, limited := 0, 0; ; {
		v, err := doOnce(ctx, c, call)
		if err == nil || ctx.Err() != nil {
			return v, err
		}
		ce, ok := circleci.AsError(err)
		switch {
		case ok && ce.Class == circleci.ClassServer && server < len(c.delays):
			c.hb.beat()
			if err := sleep(ctx, c.delays[server]); err != nil {
				return v, err
			}
			server++
		case ok && ce.Class == circleci.ClassRateLimited && limited < rateLimitRetries:
			c.hb.beat()
			limited++
		default:
			return v, err
		}
	}
}

// doOnce sends one request under the concurrency bound, counting it.
func doOnce[T any](ctx context.Context, c *client, call func(ctx context.Context) (T, error)) (T, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
	defer func() { <-c.sem }()
	return call(circleci.WithRequestStats(ctx, &c.stats))
}

// list gathers every page of a list under the retry policy.
func list[T any](ctx context.Context, c *client, page func(ctx context.Context, tok string) (circleci.Page[T], error)) ([]T, error) {
	for i := 0; ; i++ {
		v, err := collect(ctx, func(ctx context.Context, tok string) (circleci.Page[T], error) {
			return do(ctx, c, func(ctx context.Context) (circleci.Page[T], error) { return page(ctx, tok) })
		})
		if err == nil || i >= len(c.delays) || !stalePageTokenOf(err) {
			return v, err
		}
		c.hb.beat()
		if err := sleep(ctx, c.delays[i]); err != nil {
			return v, err
		}
	}
}

// stalePageTokenOf reports a 404 on a request with a page token.
func stalePageTokenOf(err error) bool {
	ce, ok := circleci.AsError(err)
	return ok && ce.NotFoundKind() == circleci.NotFoundPageToken
}

// collect gathers the items of every page of a list.
func collect[T any](ctx context.Context, fetch circleci.PageFetcher[T]) ([]T, error) {
	var out []T
	for p, err := range circleci.Pages(ctx, fetch) {
		if err != nil {
			return nil, err
		}
		out = append(out, p.Items...)
	}
	return out, nil
}

// Requests is the number of requests sent so far.
func (c *client) Requests() int64 { return c.stats.Requests() }

// fillRequests sets cnt's request figures to base's plus this run's.
func (c *client) fillRequests(cnt *SyncCounts, base SyncCounts) {
	cnt.Requests = base.Requests + c.stats.Requests()
	cnt.RateLimited = base.RateLimited + c.stats.RateLimited()
	cnt.RateLimitWaitMS = base.RateLimitWaitMS + c.stats.Wait().Milliseconds()
	cnt.RateLimitHeldMS = base.RateLimitHeldMS + c.stats.Held().Milliseconds()
	cnt.ServerErrors = base.ServerErrors + c.stats.ServerErrors()
}

func (c *client) orgPipelinesPage(ctx context.Context, org, token string) (circleci.Page[circleci.Pipeline], error) {
	return do(ctx, c, func(ctx context.Context) (circleci.Page[circleci.Pipeline], error) {
		return c.c.OrgPipelinesPage(ctx, org, token)
	})
}

func (c *client) projectPipelinesPage(ctx context.Context, slug, token string) (circleci.Page[circleci.Pipeline], error) {
	return do(ctx, c, func(ctx context.Context) (circleci.Page[circleci.Pipeline], error) {
		return c.c.ProjectPipelinesPage(ctx, slug, "", token)
	})
}

func (c *client) pipeline(ctx context.Context, id string) (circleci.Pipeline, error) {
	return do(ctx, c, func(ctx context.Context) (circleci.Pipeline, error) { return c.c.Pipeline(ctx, id) })
}

func (c *client) workflow(ctx context.Context, id string) (circleci.Workflow, error) {
	return do(ctx, c, func(ctx context.Context) (circleci.Workflow, error) { return c.c.Workflow(ctx, id) })
}

func (c *client) project(ctx context.Context, slug string) (circleci.Project, error) {
	return do(ctx, c, func(ctx context.Context) (circleci.Project, error) { return c.c.Project(ctx, slug) })
}

func (c *client) me(ctx context.Context) (circleci.User, error) { return do(ctx, c, c.c.Me) }

// user reads a user; the process's reads of a user share a request.
func (c *client) user(ctx context.Context, id string) (circleci.User, error) {
	fetch := func() (circleci.User, error) {
		return do(ctx, c, func(ctx context.Context) (circleci.User, error) { return c.c.User(ctx, id) })
	}
	if c.users == nil {
		return fetch()
	}
	return c.users.get(c.c.BaseURL()+" "+id, fetch)
}

func (c *client) collaborations(ctx context.Context) ([]circleci.Collaboration, error) {
	return do(ctx, c, c.c.Collaborations)
}

func (c *client) followedProjects(ctx context.Context) ([]circleci.FollowedProject, error) {
	return do(ctx, c, c.c.FollowedProjects)
}

// allWorkflows lists a pipeline's workflows.
func (c *client) allWorkflows(ctx context.Context, pipelineID string) ([]circleci.Workflow, error) {
	return list(ctx, c, func(ctx context.Context, tok string) (circleci.Page[circleci.Workflow], error) {
		return c.c.PipelineWorkflowsPage(ctx, pipelineID, tok)
	})
}

// allJobs lists a workflow's jobs.
func (c *client) allJobs(ctx context.Context, workflowID string) ([]circleci.Job, error) {
	return list(ctx, c, func(ctx context.Context, tok string) (circleci.Page[circleci.Job], error) {
		return c.c.WorkflowJobsPage(ctx, workflowID, tok)
	})
}

// insightsNames lists the workflow names Insights summarises over 90 days, all branches.
func (c *client) insightsNames(ctx context.Context, slug string) ([]string, error) {
	sums, err := list(ctx, c, func(ctx context.Context, tok string) (circleci.Page[circleci.WorkflowSummary], error) {
		return c.c.InsightsWorkflowsPage(ctx, slug, circleci.SummaryQuery{AllBranches: true, ReportingWindow: "last-90-days"}, tok)
	})
	names := make([]string, 0, len(sums))
	for _, s := range sums {
		names = append(names, s.Name)
	}
	return names, err
}

// workflowRuns lists the runs of workflow name created since from, all branches.
func (c *client) workflowRuns(ctx context.Context, slug, name string, from time.Time) ([]circleci.WorkflowRun, int, error) {
	pages := 0
	runs, err := list(ctx, c, func(ctx context.Context, tok string) (circleci.Page[circleci.WorkflowRun], error) {
		pages++
		return c.c.WorkflowRunsPage(ctx, slug, name, circleci.RunsQuery{AllBranches: true, Start: from}, tok)
	})
	return runs, pages, err
}

// sleep waits for d, or until ctx is done (its error then).
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
