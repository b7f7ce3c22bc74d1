package e2e

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/syncworker"
)

// TestBudgetSplit runs two worker processes on one task queue, each paced at
// half of the fake's token bucket (CIRCLECI_RATE=R/2, small burst), through a
// full sync of every organisation: the fake answers no 429 and both workers
// made requests.
//
// The workers are told apart by their token: each gets its own value in the
// same variable (token_env), and the fake's front counts the requests per
// token before passing them on with the fake's own (the fake's bucket is shared
// by all tokens anyway). Each worker runs at most two activities at once, so
// the three page activities scheduled together cannot all go to one worker.
// The test asserts counts only, never timings: every request is one of the
// two workers', none is answered 429, each worker made some, the tables equal
// the fake's Expected.
func TestBudgetSplit(t *testing.T) {
	const rate = 40 // R, requests/s
	tsrv := startTemporal(t)
	bin := buildWorker(t)
	opts := datasetOptions(11)
	opts.Faults.Latency = 5 * time.Millisecond
	opts.Faults.RateLimit, opts.Faults.RateBurst = rate, rate
	tokenA, tokenB := newToken(), newToken()
	front := startFront(t, opts, map[string]string{tokenA: "worker-a", tokenB: "worker-b"})
	ex := front.fake.Expected(front.fake.Token())
	dbURL := backends[0].url(t)
	tokenEnv := newEnvName("TOKEN")
	tq := newID("e2e-budget")
	pacing := []string{
		syncworker.EnvRate + "=" + strconv.Itoa(rate/2),
		syncworker.EnvBurst + "=2",
		syncworker.EnvMaxConcurrentActivities + "=2",
	}
	a := startPollingWorker(t, bin, workerEnv(tsrv, tq, dbURL, tokenEnv, tokenA, pacing...))
	b := startPollingWorker(t, bin, workerEnv(tsrv, tq, dbURL, tokenEnv, tokenB, pacing...))
	s := &syncer{c: tsrv.Client(), taskQueue: tq}
	ins := benchInputs(front, ex, newID("budget"), tokenEnv)

	run, err := runSync(t.Context(), front, s, ins, syncTimeoutFor(ex.MinimumRequests.Total, rate))
	require.NoError(t, err)
	_, byWorker, unknown := front.recorded()
	st := run.Stats
	t.Logf("sync: %s, %d requests (minimum %d); worker a %d, worker b %d, other tokens %d; 429s %d; "+
		"%.1f req/s overall, %.1f steady (bucket %d/s; not asserted)", run.Wall.Round(time.Millisecond), st.Total,
		ex.MinimumRequests.Total, byWorker["worker-a"], byWorker["worker-b"], unknown, st.CountStatus(429),
		run.Arrivals.Overall, run.Arrivals.Steady, rate)
	assert.Zero(t, unknown, "requests with another token than the workers'")
	assert.Equal(t, st.Total, byWorker["worker-a"]+byWorker["worker-b"], "every request is one of the workers'")
	assert.Zero(t, st.CountStatus(429), "429s: the two halves of the budget add up to the bucket")
	assert.Positive(t, byWorker["worker-a"], "worker a made requests")
	assert.Positive(t, byWorker["worker-b"], "worker b made requests")
	requireTablesEqual(t, dbURL, ex)
	for _, p := range []*workerProc{a, b} {
		assert.False(t, p.exited(), "a worker exited during the sync:\n%s", tail(p.output.String(), 20))
	}
}
