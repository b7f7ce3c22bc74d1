package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/syncworker"
)

// retryAfterGrace is how long after a 429 requests already on their way may
// still arrive without breaking its Retry-After.
const retryAfterGrace = 100 * time.Millisecond

// TestRateLimitStorm syncs, on each backend, through a fake that answers 30 %
// of the API requests 429 (Retry-After: 1) and 5 % 500, at random, while the
// worker's own rate limit is generous (1000 requests/s). A proxy in front of
// the fake records when each request arrived and each 429 left. The syncs
// complete, the tables equal the fake's Expected, and no request arrived
// between 100 ms after a 429 and its Retry-After: the token's requests all
// wait out every 429.
func TestRateLimitStorm(t *testing.T) {
	tsrv := startTemporal(t)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			// Small: a 429 fails the activity it hits (the retry resumes from
			// the heartbeat after Retry-After), so at 30 % an attempt gets about
			// two requests done, and a page of 5 pipelines takes some 20
			// attempts. 3 projects of one organisation (one connection).
			sc := newFaultScenario(t, tsrv, b, faultSpec{name: "storm", seed: 41, proxy: true,
				dataset: func(opts *circlecitest.Options) {
					opts.Projects = 9
					opts.PipelinesPerProject = 5
					opts.MaxWorkflowsPerPipeline = 2
					opts.MaxJobsPerWorkflow = 3
					opts.Faults.Latency = 5 * time.Millisecond
					// A bucket far above the sync's pace, so that every answer
					// carries RateLimit-* headers as CircleCI's do: their budget
					// left tells the worker's pacer the 429s are not the budget's.
					opts.Faults.RateLimit = 1000
					opts.Faults.Random429Rate = 0.3
					opts.Faults.Random500Rate = 0.05
				}})
			fake, proxy, token := sc.fake, sc.proxy, sc.token
			logs := sc.startWorker(func(cfg *syncworker.Config) { cfg.PageConcurrency = 2 })
			s := sc.s
			ins := sc.ins[:1]
			projects := sc.firstOrgProjects(3)
			ex := filterExpected(sc.ex, projects...)
			t.Logf("synced: %s, projects %v: %d pipelines, %d workflows, %d jobs, %d users, %d unreachable",
				ins[0].OrgSlug, projects, len(ex.Pipelines), len(ex.Workflows), len(ex.Jobs), len(ex.Users), len(ex.Unreachable))

			results := s.syncAll(t, ins)
			logResults(t, "429 storm", ins, results)
			rep := requireTablesEqual(t, sc.dbURL, ex)

			stats := logStormStats(t, fake.Stats(), ex)
			ra := requireRetryAfterRespected(t, proxy.requests(), stats)

			st := walkHistories(t, tsrv.Client(), s.allRuns(), proxy.URL, token)
			t.Logf("histories: %d workflows, %d events, highest activity attempt %d, retried activities by last failure %v",
				len(st.Runs), st.Events, st.MaxAttempt, st.Retries)
			// The activities wait the 429s out request by request (the limiter
			// holds every request until the Retry-After); one that meets five in
			// a row fails and is retried by Temporal after the Retry-After.
			var limited int64
			for _, r := range results {
				limited += r.Totals.RateLimited // the users' included
			}
			t.Logf("the results count %d 429s met; activities retried after a 429: %d", limited, st.Retries["rate_limited"])
			assert.Positive(t, limited, "the results count the 429s the sync met")
			assert.LessOrEqual(t, limited, stats.CountStatus(http.StatusTooManyRequests), "no more 429s than the fake sent")
			requireNoSecretInLogs(t, map[string]string{"worker": logs.String()}, sc.prefix, token)

			sc.fig.Faults = fmt.Sprintf("%d×429 (Retry-After: 1) and %d×500 at random (30%%/5%%); %d Retry-After violations",
				stats.CountStatus(http.StatusTooManyRequests), stats.CountStatus(http.StatusInternalServerError), ra.Violations)
			sc.logFigures(rep, st)
		})
	}
}

// logStormStats logs what the fake answered, by route, and checks that the
// storm sent 429s; it returns stats.
func logStormStats(t *testing.T, stats circlecitest.Stats, ex circlecitest.Expected) circlecitest.Stats {
	t.Helper()
	var by []string
	for _, route := range sortedKeys(stats.Requests) {
		if n429, n500 := stats.Count(route, http.StatusTooManyRequests), stats.Count(route, http.StatusInternalServerError); n429+n500 > 0 {
			by = append(by, fmt.Sprintf("%s: %d×429 %d×500 of %d", route, n429, n500, stats.Count(route, 0)))
		}
	}
	t.Logf("fake: %d requests, %d answered 429 (%d with Retry-After), %d answered 500; Expected.MinimumRequests.Total %d\n  %s",
		stats.Total, stats.CountStatus(http.StatusTooManyRequests), stats.RetryAfterSent,
		stats.CountStatus(http.StatusInternalServerError), ex.MinimumRequests.Total, strings.Join(by, "\n  "))
	require.Positive(t, stats.RetryAfterSent, "the storm sent 429s")
	return stats
}

// requireRetryAfterRespected checks the requests the proxy saw (reqs) against
// the fake's figures (stats): the same requests, but cancelled ones, the
// same 429s, and none inside a Retry-After window.
func requireRetryAfterRespected(t *testing.T, reqs []apiRequest, stats circlecitest.Stats) retryAfterReport {
	t.Helper()
	ra := retryAfterViolations(reqs, retryAfterGrace)
	proxied := map[int]int{}
	for _, r := range reqs {
		proxied[r.Status]++
	}
	t.Logf("proxy: %d requests by status %v; Retry-After windows %d (%d cut to an earlier 429's; and %d 429s to "+
		"requests the client had cancelled, %d to stray non-API requests), violations %d (grace %s) %v",
		len(reqs), proxied, ra.Windows, ra.Shortened, ra.Undelivered, ra.Stray, ra.Violations, retryAfterGrace, ra.Examples)
	// A request the client cancels may reach the proxy and not the fake
	// (the proxy logs it as a 502).
	assert.GreaterOrEqual(t, len(reqs), int(stats.Total), "every request went through the proxy")
	assert.LessOrEqual(t, len(reqs)-proxied[http.StatusBadGateway], int(stats.Total),
		"the proxy saw no request the fake did not, but cancelled ones")
	// A request the client cancels while the fake answers it counts in
	// the fake's figures, and in the proxy's as a 502.
	assert.GreaterOrEqual(t, int(stats.RetryAfterSent), ra.Windows+ra.Undelivered+ra.Stray, "429s seen by the proxy")
	assert.LessOrEqual(t, int(stats.RetryAfterSent), ra.Windows+ra.Undelivered+ra.Stray+proxied[http.StatusBadGateway],
		"429s seen by the proxy, or cancelled")
	assert.Zero(t, ra.Violations, "no request arrived inside a Retry-After window")
	t.Logf("the fake's own accounting: %d Retry-After violations, %d windows honoured (grace %s)",
		stats.RetryAfterViolations, stats.RetryAfterHonoured, circlecitest.RetryAfterGrace)
	return ra
}
