package metrics

import (
	"io"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
)

// DefaultTemporalReportInterval is how often, by default, the Temporal SDK's
// metrics are copied into the registry (tally reports on an interval): a scrape
// sees them at most this late.
const DefaultTemporalReportInterval = time.Second

// TemporalBuckets are the histogram buckets, in seconds, of the SDK's timers
// (temporal_*_latency_seconds): requests take milliseconds, long polls up to about
// a minute, and sync activities seconds to minutes.
var TemporalBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

// temporalSanitizeOptions are the contrib's PrometheusSanitizeOptions but for label
// values, which keep every character but U+FFFD: invalid UTF-8 decodes as U+FFFD,
// so it is replaced (by '_'), and the Prometheus client, which panics on invalid
// UTF-8 label values, never sees it.
var temporalSanitizeOptions = func() tally.SanitizeOptions {
	o := sdktally.PrometheusSanitizeOptions
	o.ValueCharacters = tally.ValidCharacters{Ranges: []tally.SanitizeRange{
		{0, utf8.RuneError - 1}, {utf8.RuneError + 1, utf8.MaxRune},
	}}
	return o
}()

// newTemporalHandler returns a Temporal MetricsHandler whose metrics are
// reported into reg every interval, and the closer that stops the reporting (with
// a last report). Names follow the SDK's Prometheus conventions: the SDK's names
// (temporal_request, temporal_activity_execution_latency, ...) sanitized, counters
// suffixed _total and timers _seconds, timers as histograms (TemporalBuckets).
// Label values are kept as they are (task_queue="circleci-sync", as the Temporal
// server and UI show it), where the contrib's PrometheusSanitizeOptions would
// rewrite them (circleci_sync); names and label names are sanitized as it does.
// A metric the registry refuses (a name already registered with other labels) is
// logged and dropped rather than panicking, the reporter's default.
func newTemporalHandler(reg *prometheus.Registry, interval time.Duration, logger *slog.Logger) (client.MetricsHandler, io.Closer) {
	reporter := tallyprom.NewReporter(tallyprom.Options{
		Registerer:              reg,
		DefaultTimerType:        tallyprom.HistogramTimerType,
		DefaultHistogramBuckets: TemporalBuckets,
		OnRegisterError: func(err error) {
			logger.Warn("Temporal SDK metric not exported", "error", err)
		},
	})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:         reporter,
		Separator:              tallyprom.DefaultSeparator,
		SanitizeOptions:        &temporalSanitizeOptions,
		OmitCardinalityMetrics: true,
	}, interval)
	return sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope)), closer
}
