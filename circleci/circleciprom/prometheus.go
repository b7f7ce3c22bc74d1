// Package circleciprom exports a circleci.Client's requests as Prometheus metrics, apart
// so that the client does not depend on Prometheus.
package circleciprom

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// Metric names.
const (
	RequestsTotalName   = "circleci_requests_total"
	RequestDurationName = "circleci_request_duration_seconds"
	LimiterWaitName     = "circleci_limiter_wait_seconds"
)

// DurationBuckets are the histogram buckets, in seconds: CircleCI answers in tens of
// milliseconds to a few seconds, and a slow list can take much longer.
var DurationBuckets = []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// WaitBuckets are the limiter-wait histogram's buckets, in seconds: most requests wait
// for nothing or a rate token, a 429's pause holds them for seconds.
var WaitBuckets = []float64{0, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// PrometheusObserver is a circleci.Observer and WaitObserver exporting
// circleci_requests_total, circleci_request_duration_seconds{route,method,status} and
// circleci_limiter_wait_seconds{route}; status "0" is no response.
type PrometheusObserver struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	wait     *prometheus.HistogramVec
}

var (
	_ circleci.Observer     = (*PrometheusObserver)(nil)
	_ circleci.WaitObserver = (*PrometheusObserver)(nil)
)

// NewPrometheusObserver registers the metrics with reg (default
// prometheus.DefaultRegisterer), reusing them when already registered.
func NewPrometheusObserver(reg prometheus.Registerer) (*PrometheusObserver, error) {
	if reg == nil {
		reg = prometheus.DefaultRegisterer
	}
	labels := []string{"route", "method", "status"}
	requests, err := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: RequestsTotalName,
		Help: "HTTP requests sent to the CircleCI API, by route template, method and status (0: no response).",
	}, labels))
	if err != nil {
		return nil, err
	}
	duration, err := register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    RequestDurationName,
		Help:    "Duration of HTTP requests to the CircleCI API, until the body is read, by route template, method and status.",
		Buckets: DurationBuckets,
	}, labels))
	if err != nil {
		return nil, err
	}
	wait, err := register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    LimiterWaitName,
		Help:    "Time CircleCI API requests waited for the per-token limiter (rate, concurrency cap, pause after a 429) before being sent, by route template.",
		Buckets: WaitBuckets,
	}, []string{"route"}))
	if err != nil {
		return nil, err
	}
	return &PrometheusObserver{requests: requests, duration: duration, wait: wait}, nil
}

// register registers c, or returns the collector of the same description that is
// already registered.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	var zero C
	return zero, fmt.Errorf("circleciprom: registering metrics: %w", err)
}

// ObserveRequest implements circleci.Observer.
func (o *PrometheusObserver) ObserveRequest(route, method string, status int, d time.Duration) {
	s := strconv.Itoa(status)
	o.requests.WithLabelValues(route, method, s).Inc()
	o.duration.WithLabelValues(route, method, s).Observe(d.Seconds())
}

// ObserveWait implements circleci.WaitObserver.
func (o *PrometheusObserver) ObserveWait(route string, d time.Duration) {
	o.wait.WithLabelValues(route).Observe(d.Seconds())
}
