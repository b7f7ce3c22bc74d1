package receiver

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Event results, the result label of circleci_webhook_events_total.
const (
	ResultAccepted          = "accepted"
	ResultDuplicate         = "duplicate"
	ResultIgnored           = "ignored"
	ResultUnknownConnection = "unknown_connection"
	ResultTooLarge          = "too_large"
	ResultSlowBody          = "slow_body"
	ResultBadSignature      = "bad_signature"
	ResultInvalid           = "invalid"
	ResultOtherOrg          = "other_org"
	ResultUnavailable       = "unavailable"
	ResultError             = "error"
)

// Metrics are the receiver's Prometheus metrics. No label holds the
// connection: the senders choose the paths.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	events   *prometheus.CounterVec
	handoff  prometheus.Histogram
}

// NewMetrics registers the metrics in a new registry, with the Go collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "circleci_webhook_requests_total", Help: "HTTP requests to the webhook receiver, by status code.",
		}, []string{"code"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "circleci_webhook_events_total", Help: "Webhook deliveries by event type and result.",
		}, []string{"type", "result"}),
		handoff: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "circleci_webhook_handoff_seconds", Help: "Time to hand an event to Temporal.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, .9, 2},
		}),
	}
	m.reg.MustRegister(m.requests, m.events, m.handoff,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry is the metrics' registry.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// CountCodes wraps next, counting its answers by status code.
func (m *Metrics) CountCodes(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &codeRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		m.requests.WithLabelValues(strconv.Itoa(rec.code)).Inc()
	})
}

type codeRecorder struct {
	http.ResponseWriter
	code int
}

func (r *codeRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (read deadlines).
func (r *codeRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
