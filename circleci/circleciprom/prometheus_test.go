package circleciprom

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci"
)

func TestObserverCountsAndTimes(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	o, err := NewPrometheusObserver(reg)
	require.NoError(t, err)

	o.ObserveRequest(circleci.RouteWorkflowJobs, "GET", 200, 150*time.Millisecond)
	o.ObserveRequest(circleci.RouteWorkflowJobs, "GET", 200, 50*time.Millisecond)
	o.ObserveRequest(circleci.RouteWorkflowJobs, "GET", 404, 10*time.Millisecond)
	o.ObserveRequest(circleci.RouteMe, "GET", 0, 2*time.Second)

	assert.Equal(t, 2.0, testutil.ToFloat64(o.requests.WithLabelValues(circleci.RouteWorkflowJobs, "GET", "200")))
	assert.Equal(t, 1.0, testutil.ToFloat64(o.requests.WithLabelValues(circleci.RouteWorkflowJobs, "GET", "404")))
	assert.Equal(t, 1.0, testutil.ToFloat64(o.requests.WithLabelValues(circleci.RouteMe, "GET", "0")))
	assert.Equal(t, 3, testutil.CollectAndCount(o.requests))
	assert.Equal(t, 3, testutil.CollectAndCount(o.duration))

	want := `
# HELP circleci_requests_total HTTP requests sent to the CircleCI API, by route template, method and status (0: no response).
# TYPE circleci_requests_total counter
circleci_requests_total{method="GET",route="/api/v2/me",status="0"} 1
circleci_requests_total{method="GET",route="/api/v2/workflow/{id}/job",status="200"} 2
circleci_requests_total{method="GET",route="/api/v2/workflow/{id}/job",status="404"} 1
`
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want), RequestsTotalName))

	// The histogram: two 200s summing to 0.2 s, one under 0.1 s.
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var found bool
	for _, mf := range mfs {
		if mf.GetName() != RequestDurationName {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			if labels["route"] == circleci.RouteWorkflowJobs && labels["status"] == "200" {
				found = true
				h := m.GetHistogram()
				assert.Equal(t, uint64(2), h.GetSampleCount())
				assert.InDelta(t, 0.2, h.GetSampleSum(), 1e-9)
				for _, b := range h.GetBucket() {
					if b.GetUpperBound() == 0.1 {
						assert.Equal(t, uint64(1), b.GetCumulativeCount())
					}
				}
			}
		}
	}
	assert.True(t, found, "histogram series present")
	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	assert.Empty(t, problems, "metric names and help follow the Prometheus conventions")
}

func TestRegisterTwiceReuses(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, err := NewPrometheusObserver(reg)
	require.NoError(t, err)
	b, err := NewPrometheusObserver(reg)
	require.NoError(t, err)
	a.ObserveRequest(circleci.RouteMe, "GET", 200, time.Millisecond)
	b.ObserveRequest(circleci.RouteMe, "GET", 200, time.Millisecond)
	assert.Equal(t, 2.0, testutil.ToFloat64(a.requests.WithLabelValues(circleci.RouteMe, "GET", "200")))
	assert.Same(t, a.requests, b.requests)
}

func TestRegisterConflict(t *testing.T) {
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(prometheus.NewCounter(prometheus.CounterOpts{Name: RequestsTotalName, Help: "other"})))
	_, err := NewPrometheusObserver(reg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "circleciprom")
}

func TestWithClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v2/me" {
			_, _ = w.Write([]byte(`{"id":"u","login":"l","name":"n","avatar_url":null}`))
			return
		}
		http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
	}))
	defer srv.Close()
	reg := prometheus.NewRegistry()
	o, err := NewPrometheusObserver(reg)
	require.NoError(t, err)
	c, err := circleci.New(circleci.Options{
		BaseURL:  srv.URL,
		Token:    "tok",
		Observer: o,
		Limiter:  circleci.NewLimiter(circleci.LimiterOptions{RequestsPerSecond: math.Inf(1)}),
	})
	require.NoError(t, err)
	_, err = c.Me(context.Background())
	require.NoError(t, err)
	_, err = c.WorkflowJobsPage(context.Background(), "w", "")
	require.Error(t, err)
	assert.Equal(t, 1.0, testutil.ToFloat64(o.requests.WithLabelValues(circleci.RouteMe, "GET", "200")))
	assert.Equal(t, 1.0, testutil.ToFloat64(o.requests.WithLabelValues(circleci.RouteWorkflowJobs, "GET", "404")))
	assert.Equal(t, 2, testutil.CollectAndCount(o.duration, RequestDurationName))
}

func TestObserverTimesLimiterWaits(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	o, err := NewPrometheusObserver(reg)
	require.NoError(t, err)
	o.ObserveWait(circleci.RouteWorkflowJobs, 0)
	o.ObserveWait(circleci.RouteWorkflowJobs, 1500*time.Millisecond)
	o.ObserveWait(circleci.RouteMe, 20*time.Millisecond)
	want := `
# HELP circleci_limiter_wait_seconds Time CircleCI API requests waited for the per-token limiter (rate, concurrency cap, pause after a 429) before being sent, by route template.
# TYPE circleci_limiter_wait_seconds histogram
circleci_limiter_wait_seconds_bucket{route="/api/v2/me",le="0"} 0
circleci_limiter_wait_seconds_bucket{route="/api/v2/me",le="0.01"} 0
circleci_limiter_wait_seconds_bucket{route="/api/v2/me",le="0.05"} 1
circleci_limiter_wait_seconds_bucket{route="/api/v2/me",le="0.1"} 1
circleci_limiter_wait_seconds_bucket{route="/api/v2/me",le="0.25"} 1
circleci_limiter_wait_seconds_bucket{route="/api/v2/me",le="0.5"} 1
circleci_limiter_wait_seconds_bucket{route="/api/v2/me",le="1"} 1
circleci_limiter_wait_seconds_bucket{route="/api/v2/me",le="2.5"} 1
circleci_limiter_wait_seconds_bucket{route="/api/v2/me",le="5"} 1
circleci_limiter_wait_seconds_bucket{route="/api/v2/me",le="10"} 1
circleci_limiter_wait_seconds_bucket{route="/api/v2/me",le="30"} 1
circleci_limiter_wait_seconds_bucket{route="/api/v2/me",le="60"} 1
circleci_limiter_wait_seconds_bucket{route="/api/v2/me",le="+Inf"} 1
circleci_limiter_wait_seconds_sum{route="/api/v2/me"} 0.02
circleci_limiter_wait_seconds_count{route="/api/v2/me"} 1
circleci_limiter_wait_seconds_bucket{route="/api/v2/workflow/{id}/job",le="0"} 1
circleci_limiter_wait_seconds_bucket{route="/api/v2/workflow/{id}/job",le="0.01"} 1
circleci_limiter_wait_seconds_bucket{route="/api/v2/workflow/{id}/job",le="0.05"} 1
circleci_limiter_wait_seconds_bucket{route="/api/v2/workflow/{id}/job",le="0.1"} 1
circleci_limiter_wait_seconds_bucket{route="/api/v2/workflow/{id}/job",le="0.25"} 1
circleci_limiter_wait_seconds_bucket{route="/api/v2/workflow/{id}/job",le="0.5"} 1
circleci_limiter_wait_seconds_bucket{route="/api/v2/workflow/{id}/job",le="1"} 1
circleci_limiter_wait_seconds_bucket{route="/api/v2/workflow/{id}/job",le="2.5"} 2
circleci_limiter_wait_seconds_bucket{route="/api/v2/workflow/{id}/job",le="5"} 2
circleci_limiter_wait_seconds_bucket{route="/api/v2/workflow/{id}/job",le="10"} 2
circleci_limiter_wait_seconds_bucket{route="/api/v2/workflow/{id}/job",le="30"} 2
circleci_limiter_wait_seconds_bucket{route="/api/v2/workflow/{id}/job",le="60"} 2
circleci_limiter_wait_seconds_bucket{route="/api/v2/workflow/{id}/job",le="+Inf"} 2
circleci_limiter_wait_seconds_sum{route="/api/v2/workflow/{id}/job"} 1.5
circleci_limiter_wait_seconds_count{route="/api/v2/workflow/{id}/job"} 2
`
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want), LimiterWaitName))
	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	assert.Empty(t, problems)
}
