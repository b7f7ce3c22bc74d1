package circleci

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type observation struct {
	route, method string
	status        int
	d             time.Duration
}

type observations struct {
	mu  sync.Mutex
	obs []observation
}

func (o *observations) ObserveRequest(route, method string, status int, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.obs = append(o.obs, observation{route, method, status, d})
}

func TestObserverOncePerRequest(t *testing.T) {
	obs := &observations{}
	c, _, srv := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v2/me":
			jsonBody(200, userJSON)(w, r)
		case "/api/v2/workflow/w1/job":
			respond(404, nil, `{"message":"Not Found"}`)(w, r)
		case "/api/v2/pipeline/p1/workflow":
			jsonBody(200, `not json`)(w, r)
		default:
			respond(429, nil, "Rate limited.")(w, r)
		}
	}, func(o *Options) { o.Observer = obs })
	ctx := context.Background()

	_, err := c.Me(ctx)
	require.NoError(t, err)
	_, err = c.WorkflowJobsPage(ctx, "w1", "")
	requireClass(t, err, ClassNotFound)
	_, err = c.PipelineWorkflowsPage(ctx, "p1", "")
	requireClass(t, err, ClassDecode)
	_, err = c.Project(ctx, "gh/acme/widgets")
	requireClass(t, err, ClassRateLimited)

	// Not sent: not observed.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = c.Me(cancelled)
	requireClass(t, err, ClassTransport)
	_, err = c.User(ctx, "")
	requireClass(t, err, ClassBadRequest)

	// The 429 paused the limiter; lift it so that the transport case can run.
	c.limiter.mu.Lock()
	c.limiter.pausedUntil = time.Time{}
	c.limiter.mu.Unlock()
	srv.Close()
	_, err = c.Pipeline(ctx, "p2")
	requireClass(t, err, ClassTransport)

	got := obs.obs
	require.Len(t, got, 5)
	want := []struct {
		route  string
		status int
	}{
		{RouteMe, 200},
		{RouteWorkflowJobs, 404},
		{RoutePipelineWorkflow, 200},
		{RouteProject, 429},
		{RoutePipeline, 0},
	}
	for i, w := range want {
		assert.Equal(t, w.route, got[i].route)
		assert.Equal(t, http.MethodGet, got[i].method)
		assert.Equal(t, w.status, got[i].status)
		assert.GreaterOrEqual(t, got[i].d, time.Duration(0))
	}
}

func TestObserverFunc(t *testing.T) {
	var got observation
	var o Observer = ObserverFunc(func(route, method string, status int, d time.Duration) {
		got = observation{route, method, status, d}
	})
	o.ObserveRequest(RouteUser, "GET", 404, time.Second)
	assert.Equal(t, observation{RouteUser, "GET", 404, time.Second}, got)
}
