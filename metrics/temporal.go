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

// DefaultTemporalReportInterval is how often the SDK's metrics are copied into the
// registry: a scrape sees them at most this late.
const DefaultTemporalReportInterval = time.Second

// TemporalBuckets are the SDK's timer buckets, in seconds: milliseconds for requests,
// a minute for long polls, minutes for activities.
var TemporalBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

// temporalSanitizeOptions are the contrib's but keep label values (task_queue as the
// server shows it), replacing only U+FFFD, on which the Prometheus client panics.
var temporalSanitizeOptions = func() tally.SanitizeOptions {
	o := sdktally.PrometheusSanitizeOptions
	o.ValueCharacters = tally.ValidCharacters{Ranges: []tally.SanitizeRange{
		{0, utf8.RuneError - 1}, {utf8.RuneError + 1, utf8.MaxRune},
	}}
	return o
}()

// newTemporalHandler returns a MetricsHandler reported into reg every interval, in
// the SDK's Prometheus conventions (…_total counters, …_seconds histograms), and its
// closer. A metric reg refuses is logged and dropped instead of panicking.
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
