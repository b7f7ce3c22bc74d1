package metrics

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/circleci-sync/circleci-sync/store"
)

// Defaults of the store collector.
const (
	// DefaultStoreScrapeTimeout bounds the store reads of one scrape.
	DefaultStoreScrapeTimeout = 5 * time.Second
	// DefaultStoreCacheTTL: scrapes closer together reuse the store reads.
	DefaultStoreCacheTTL = 15 * time.Second
)

// storeCollector exports on each scrape the newest stored pipeline of each project and
// the last completed sync of each connection, reading the store at most once per ttl;
// a failed read is counted and logged, and only its series are left out.
type storeCollector struct {
	st      store.Store
	timeout time.Duration
	ttl     time.Duration
	now     func() time.Time
	logger  *slog.Logger
	errors  prometheus.Counter

	age, timestamp, lastRun *prometheus.Desc

	// mu serializes the reads and guards the cache.
	mu sync.Mutex
	// read says whether the store was read, at readAt.
	read   bool
	readAt time.Time
	// newest and conns are the last reads, valid when newestOK and connsOK.
	newest   map[string]time.Time
	newestOK bool
	conns    []store.ConnectionState
	connsOK  bool
}

var _ prometheus.Collector = (*storeCollector)(nil)

// newStoreCollector returns the collector of st.
func newStoreCollector(st store.Store, timeout, ttl time.Duration, now func() time.Time, logger *slog.Logger) *storeCollector {
	return &storeCollector{
		st: st, timeout: timeout, ttl: ttl, now: now, logger: logger,
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: StoreScrapeErrorsTotalName,
			Help: "Store reads of a metrics scrape that failed; their series are missing from that scrape.",
		}),
		age: prometheus.NewDesc(NewestPipelineAgeName,
			"Seconds since the created_at of the project's newest stored pipeline.",
			[]string{LabelProject}, nil),
		timestamp: prometheus.NewDesc(NewestPipelineTimestampName,
			"The created_at of the project's newest stored pipeline, in Unix seconds.",
			[]string{LabelProject}, nil),
		lastRun: prometheus.NewDesc(ConnectionLastRunTimestampName,
			"When the last completed sync of the connection ended, in Unix seconds.",
			[]string{LabelConnection}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.age
	ch <- c.timestamp
	ch <- c.lastRun
	c.errors.Describe(ch)
}

// Collect implements prometheus.Collector.
func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	now := c.now()
	if !c.read || now.Sub(c.readAt) >= c.ttl || now.Before(c.readAt) {
		c.refresh(now)
	}
	newest, newestOK, conns, connsOK := c.newest, c.newestOK, c.conns, c.connsOK
	c.mu.Unlock()

	if newestOK {
		for project, t := range newest {
			ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, now.Sub(t).Seconds(), project)
			ch <- prometheus.MustNewConstMetric(c.timestamp, prometheus.GaugeValue, unixSeconds(t), project)
		}
	}
	if connsOK {
		for _, s := range conns {
			if !s.LastRunAt.IsZero() {
				ch <- prometheus.MustNewConstMetric(c.lastRun, prometheus.GaugeValue, unixSeconds(s.LastRunAt), s.ConnectionID)
			}
		}
	}
	c.errors.Collect(ch)
}

// refresh reads the store again. c.mu must be held.
func (c *storeCollector) refresh(now time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	c.read, c.readAt = true, now

	var err error
	c.newest, err = c.st.NewestPipelines(ctx)
	c.newestOK = c.check(err, "newest pipelines")
	c.conns, err = c.st.ConnectionStates(ctx)
	c.connsOK = c.check(err, "connection states")
}

// check counts and logs err, and reports whether it is nil.
func (c *storeCollector) check(err error, what string) bool {
	if err == nil {
		return true
	}
	c.errors.Inc()
	c.logger.Warn("metrics: store read failed; its series are left out", "read", what, "error", err)
	return false
}

// unixSeconds is t in Unix seconds with its fraction (UnixNano would overflow).
func unixSeconds(t time.Time) float64 {
	return float64(t.Unix()) + float64(t.Nanosecond())/1e9
}
