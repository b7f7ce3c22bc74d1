// Package metrics is the worker's Prometheus instrumentation: one registry holding
// the Go and process collectors, the CircleCI client's request metrics
// (circleciprom), the Temporal SDK's metrics (through its tally contrib), the
// sync's own counters (ObserveBatch) and the freshness of the stored data
// (RegisterStore), served by Handler.
//
// Files: metrics.go (Metrics, New, Handler), names.go (series and label names),
// batch.go (ObserveBatch), temporal.go (the SDK's metrics handler), freshness.go
// (the store collector).
package metrics

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/circleci/circleciprom"
	"github.com/circleci-sync/circleci-sync/store"
)

// Options tune New. The zero value is ready: every field has a default.
type Options struct {
	// Logger receives the failures that do not fail a scrape: a store read of the
	// freshness collector, a Temporal metric the registry refused. Nil discards
	// them.
	Logger *slog.Logger
	// TemporalReportInterval is how often the Temporal SDK's metrics are copied
	// into the registry (default DefaultTemporalReportInterval).
	TemporalReportInterval time.Duration
	// StoreScrapeTimeout bounds the store reads of a scrape (default
	// DefaultStoreScrapeTimeout).
	StoreScrapeTimeout time.Duration
	// StoreCacheTTL is how long the store's reads are reused by later scrapes
	// (default DefaultStoreCacheTTL).
	StoreCacheTTL time.Duration
}

// Metrics owns the worker's Prometheus registry and the instruments that feed it.
// Its methods are safe for concurrent use. Close it to stop the Temporal metrics'
// reporting.
type Metrics struct {
	reg      *prometheus.Registry
	opts     Options
	circleci *circleciprom.PrometheusObserver
	batch    *batchMetrics
	temporal client.MetricsHandler
	closer   io.Closer
	once     sync.Once
	// now is the clock of the store collector (a field so that tests can set it).
	now func() time.Time
}

// New builds the registry and registers every collector but the store's (see
// RegisterStore).
func New(opts Options) (*Metrics, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.TemporalReportInterval <= 0 {
		opts.TemporalReportInterval = DefaultTemporalReportInterval
	}
	if opts.StoreScrapeTimeout <= 0 {
		opts.StoreScrapeTimeout = DefaultStoreScrapeTimeout
	}
	if opts.StoreCacheTTL <= 0 {
		opts.StoreCacheTTL = DefaultStoreCacheTTL
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, fmt.Errorf("metrics: register the Go collector: %w", err)
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, fmt.Errorf("metrics: register the process collector: %w", err)
	}
	obs, err := circleciprom.NewPrometheusObserver(reg)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	batch, err := newBatchMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("metrics: register the sync counters: %w", err)
	}
	temporal, closer := newTemporalHandler(reg, opts.TemporalReportInterval, opts.Logger)
	return &Metrics{
		reg: reg, opts: opts, circleci: obs, batch: batch,
		temporal: temporal, closer: closer, now: time.Now,
	}, nil
}

// Registry is the registry every metric is registered with, to add more.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// CircleCI is the observer to set in circleci.Options.Observer: it exports
// circleci_requests_total{route,method,status},
// circleci_request_duration_seconds{route,method,status} and
// circleci_limiter_wait_seconds{route}.
func (m *Metrics) CircleCI() circleci.Observer { return m.circleci }

// Temporal is the handler to set in client.Options.MetricsHandler before dialling:
// the SDK's metrics (temporal_request_total, temporal_workflow_completed_total,
// temporal_activity_execution_latency_seconds, ...) then appear in the registry,
// at most Options.TemporalReportInterval late.
func (m *Metrics) Temporal() client.MetricsHandler { return m.temporal }

// RegisterStore registers a collector that exports, on each scrape, the freshness
// of st's data: NewestPipelineAgeName and NewestPipelineTimestampName by project,
// ConnectionLastRunTimestampName by connection, and StoreScrapeErrorsTotalName.
// It reads st at most once per Options.StoreCacheTTL, within
// Options.StoreScrapeTimeout; a failed read leaves its series out and is counted,
// without failing the scrape. Only one store can be registered.
func (m *Metrics) RegisterStore(st store.Store) error {
	c := newStoreCollector(st, m.opts.StoreScrapeTimeout, m.opts.StoreCacheTTL, m.now, m.opts.Logger)
	if err := m.reg.Register(c); err != nil {
		return fmt.Errorf("metrics: register the store collector: %w", err)
	}
	return nil
}

// Handler serves the registry in the Prometheus text format. A collector that
// fails is logged and left out; the others are still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(m.opts.Logger.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// Close stops the Temporal metrics' reporting, after a last report. Later calls
// do nothing.
func (m *Metrics) Close() error {
	var err error
	m.once.Do(func() { err = m.closer.Close() })
	if err != nil {
		return fmt.Errorf("metrics: stop the Temporal metrics: %w", err)
	}
	return nil
}
