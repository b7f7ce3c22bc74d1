// Package metrics is the worker's Prometheus instrumentation: one registry with the Go
// and process collectors, the CircleCI client's requests, the Temporal SDK's metrics,
// the sync's counters and the freshness of the stored data, served by Handler.
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
	// Logger receives the failures that do not fail a scrape; nil discards them.
	Logger *slog.Logger
	// TemporalReportInterval: default DefaultTemporalReportInterval.
	TemporalReportInterval time.Duration
	// StoreScrapeTimeout bounds a scrape's store reads (default DefaultStoreScrapeTimeout).
	StoreScrapeTimeout time.Duration
	// StoreCacheTTL: default DefaultStoreCacheTTL.
	StoreCacheTTL time.Duration
}

// Metrics owns the worker's registry and the instruments feeding it; safe for
// concurrent use. Close stops the Temporal reporting.
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

// New builds the registry with every collector but the store's (RegisterStore).
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

// CircleCI is the observer for circleci.Options.Observer.
func (m *Metrics) CircleCI() circleci.Observer { return m.circleci }

// Temporal is the handler for client.Options.MetricsHandler: the SDK's metrics appear
// in the registry at most Options.TemporalReportInterval late.
func (m *Metrics) Temporal() client.MetricsHandler { return m.temporal }

// RegisterStore registers the freshness collector of st (see storeCollector); only one
// store can be registered.
func (m *Metrics) RegisterStore(st store.Store) error {
	c := newStoreCollector(st, m.opts.StoreScrapeTimeout, m.opts.StoreCacheTTL, m.now, m.opts.Logger)
	if err := m.reg.Register(c); err != nil {
		return fmt.Errorf("metrics: register the store collector: %w", err)
	}
	return nil
}

// Handler serves the registry; a failing collector is logged and left out.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(m.opts.Logger.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// Close stops the Temporal reporting after a last report; later calls do nothing.
func (m *Metrics) Close() error {
	var err error
	m.once.Do(func() { err = m.closer.Close() })
	if err != nil {
		return fmt.Errorf("metrics: stop the Temporal metrics: %w", err)
	}
	return nil
}
