package activities

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// api is the CircleCI client of one activity run: it counts the requests sent
// (retries included), the 429s and the limiter waits (circleci.RequestStats),
// bounds how many requests are in flight at once, and tries a request again
// inside the activity after a 5xx (serverDelays) or a 429 (rateLimitRetries),
// heartbeating while it waits.
type api struct {
	c     *circleci.Client
	stats circleci.RequestStats
	sem   chan struct{}
	// users shares the process's fetches of a user (nil: none).
	users *userFetches
	// serverDelays are the waits between the tries of a request answered 5xx.
	serverDelays []time.Duration
	// hb, when set, heartbeats while a request waits to be tried again.
	hb *heartbeater
}

// rateLimitRetries is how many times a request answered 429 is sent again
// inside the activity before the activity fails with ErrRateLimited (and
// Temporal retries it after the Retry-After). The client's limiter holds every
// request of the token until the Retry-After time, so the next try waits for
// it; failing the activity at once would lose the rest of its work in flight,
// and under a storm of 429s a page would take tens of attempts.
const rateLimitRetries = 4

// apiOptions configure an activity run's api.
type apiOptions struct {
	// limit bounds the requests in flight (below 1 means 1).
	limit int
	// users, when not nil, shares fetches of the same user between activity
	// runs.
	users *userFetches
	// serverDelays are the waits between the tries of a 5xx (nil: one try).
	serverDelays []time.Duration
}

// newAPI wraps c for one activity run.
func newAPI(c *circleci.Client, o apiOptions) *api {
	return &api{c: c, sem: make(chan struct{}, max(1, o.limit)), users: o.users, serverDelays: o.serverDelays}
}

// userReuseWindow is how long a user fetched by one activity run serves the
// others of the process: connections resolving their users at once ask for the
// same ones, within seconds.
const userReuseWindow = time.Minute

// maxRecentUsers bounds the users userFetches keeps.
const maxRecentUsers = 10000

// userFetches shares a process's fetches of users: a fetch in flight serves
// every caller of the same user (singleflight), and a user fetched within
// userReuseWindow is handed out again without a request (each caller still
// writes it, idempotently). Only successes are shared: a caller whose shared
// fetch failed (another connection's token revoked, its activity cancelled)
// fetches again itself. It is safe for
// concurrent use; its zero value is ready.
type userFetches struct {
	flight singleflight.Group
	mu     sync.Mutex
	recent map[string]recentUser
}

// recentUser is a user fetched at a time.
type recentUser struct {
	user circleci.User
	at   time.Time
}

// get returns the user of key: a recent one, the answer of a fetch in flight,
// or fetch's.
func (u *userFetches) get(key string, fetch func() (circleci.User, error)) (circleci.User, error) {
	now := time.Now()
	u.mu.Lock()
	r, ok := u.recent[key]
	u.mu.Unlock()
	if ok && now.Sub(r.at) < userReuseWindow {
		return r.user, nil
	}
	led := false
	v, err, _ := u.flight.Do(key, func() (any, error) {
		led = true
		user, err := fetch()
		if err == nil {
			u.remember(key, user, time.Now())
		}
		return user, err
	})
	if err != nil && !led {
		// Another caller's fetch failed: its token, its context, its limiter.
		// Only a success is shared; this caller tries with its own.
		return fetch()
	}
	user, _ := v.(circleci.User)
	return user, err
}

// remember keeps user, dropping the expired entries when the map is full.
func (u *userFetches) remember(key string, user circleci.User, at time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.recent == nil {
		u.recent = map[string]recentUser{}
	}
	if len(u.recent) >= maxRecentUsers {
		for k, r := range u.recent {
			if at.Sub(r.at) >= userReuseWindow {
				delete(u.recent, k)
			}
		}
		if len(u.recent) >= maxRecentUsers {
			clear(u.recent)
		}
	}
	u.recent[key] = recentUser{user: user, at: at}
}

// do runs one request under the concurrency bound and counts it. A 5xx is tried
// again after each of a.serverDelays, a 429 up to rateLimitRetries times (once
// the limiter lets it go); other errors, and the last try's, are returned.
func do[T any](ctx context.Context, a *api, call func(ctx context.Context) (T, error)) (T, error) {
	for server, limited := 0, 0; ; {
		v, err := doOnce(ctx, a, call)
		if err == nil || ctx.Err() != nil {
			return v, err
		}
		ce, ok := circleci.AsError(err)
		switch {
		case ok && ce.Class == circleci.ClassServer && server < len(a.serverDelays):
			a.hb.beat()
			if err := sleep(ctx, a.serverDelays[server]); err != nil {
				return v, err
			}
			server++
		case ok && ce.Class == circleci.ClassRateLimited && limited < rateLimitRetries:
			a.hb.beat()
			limited++
		default:
			return v, err
		}
	}
}

// doOnce sends one request under the concurrency bound, counting it.
func doOnce[T any](ctx context.Context, a *api, call func(ctx context.Context) (T, error)) (T, error) {
	select {
	case a.sem <- struct{}{}:
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
	defer func() { <-a.sem }()
	return call(circleci.WithRequestStats(ctx, &a.stats))
}

// Requests is the number of requests sent so far.
func (a *api) Requests() int64 { return a.stats.Requests() }

// fillRequests sets c's request figures (Requests, RateLimited,
// RateLimitWaitMS) to those of base, the earlier attempts' (from a heartbeat),
// plus this run's so far.
func (a *api) fillRequests(c *SyncCounts, base SyncCounts) {
	c.Requests = base.Requests + a.stats.Requests()
	c.RateLimited = base.RateLimited + a.stats.RateLimited()
	c.RateLimitWaitMS = base.RateLimitWaitMS + a.stats.Wait().Milliseconds()
}

func (a *api) orgPipelinesPage(ctx context.Context, org, token string) (circleci.Page[circleci.Pipeline], error) {
	return do(ctx, a, func(ctx context.Context) (circleci.Page[circleci.Pipeline], error) {
		return a.c.OrgPipelinesPage(ctx, org, token)
	})
}

func (a *api) projectPipelinesPage(ctx context.Context, slug, token string) (circleci.Page[circleci.Pipeline], error) {
	return do(ctx, a, func(ctx context.Context) (circleci.Page[circleci.Pipeline], error) {
		return a.c.ProjectPipelinesPage(ctx, slug, "", token)
	})
}

func (a *api) pipeline(ctx context.Context, id string) (circleci.Pipeline, error) {
	return do(ctx, a, func(ctx context.Context) (circleci.Pipeline, error) { return a.c.Pipeline(ctx, id) })
}

func (a *api) project(ctx context.Context, slug string) (circleci.Project, error) {
	return do(ctx, a, func(ctx context.Context) (circleci.Project, error) { return a.c.Project(ctx, slug) })
}

func (a *api) me(ctx context.Context) (circleci.User, error) {
	return do(ctx, a, a.c.Me)
}

// user reads a user. Reads of the same user by this process within a minute
// (several connections resolving their users at once) share one request (see
// userFetches).
func (a *api) user(ctx context.Context, id string) (circleci.User, error) {
	fetch := func() (circleci.User, error) {
		return do(ctx, a, func(ctx context.Context) (circleci.User, error) { return a.c.User(ctx, id) })
	}
	if a.users == nil {
		return fetch()
	}
	return a.users.get(a.c.BaseURL()+" "+id, fetch)
}

func (a *api) collaborations(ctx context.Context) ([]circleci.Collaboration, error) {
	return do(ctx, a, a.c.Collaborations)
}

func (a *api) followedProjects(ctx context.Context) ([]circleci.FollowedProject, error) {
	return do(ctx, a, a.c.FollowedProjects)
}

// allWorkflows lists every page of a pipeline's workflows.
func (a *api) allWorkflows(ctx context.Context, pipelineID string) ([]circleci.Workflow, error) {
	return collect(ctx, func(ctx context.Context, tok string) (circleci.Page[circleci.Workflow], error) {
		return do(ctx, a, func(ctx context.Context) (circleci.Page[circleci.Workflow], error) {
			return a.c.PipelineWorkflowsPage(ctx, pipelineID, tok)
		})
	})
}

// allJobs lists every page of a workflow's jobs.
func (a *api) allJobs(ctx context.Context, workflowID string) ([]circleci.Job, error) {
	return collect(ctx, func(ctx context.Context, tok string) (circleci.Page[circleci.Job], error) {
		return do(ctx, a, func(ctx context.Context) (circleci.Page[circleci.Job], error) {
			return a.c.WorkflowJobsPage(ctx, workflowID, tok)
		})
	})
}

// collect gathers the items of every page of a list (circleci.Pages guards
// against page-token loops).
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
