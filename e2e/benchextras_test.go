package e2e

import (
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// BenchmarkJobExtras (make bench-extras) prints issue 15's figures: a full sync
// with include job_details and tests against the least number of requests (the
// default sync's minimum, plus a request per job's details and a page per 20 test
// results), an incremental cycle's extras requests against the new jobs', and the
// process's resident memory while a job with BENCH_EXTRAS_BIG (default 100,000)
// test results is read, against the same sync without it. The worker and the fake
// run in this process; PostgreSQL when TEST_DATABASE_URL is set.
func BenchmarkJobExtras(b *testing.B) {
	big := 100_000
	if v := os.Getenv("BENCH_EXTRAS_BIG"); v != "" {
		_, _ = fmt.Sscan(v, &big)
	}
	for range b.N {
		control := extrasRun(b, 0)
		withBig := extrasRun(b, big)
		fmt.Printf("job extras, worker RSS: peak %d MiB over %d MiB at start without the big job, "+
			"peak %d MiB over %d MiB with a job of %d test results (%d MiB more)\n",
			control.peakKB>>10, control.startKB>>10, withBig.peakKB>>10, withBig.startKB>>10, big,
			(withBig.peakKB-withBig.startKB-(control.peakKB-control.startKB))>>10)
	}
}

// extrasFigures are one extrasRun's memory figures.
type extrasFigures struct{ startKB, peakKB int64 }

// extrasRun runs a full sync and a cycle of one organisation with both extras
// (and a job of big test results when big > 0), printing the request figures.
func extrasRun(b *testing.B, big int) extrasFigures {
	runtime.GC()
	tsrv := startTemporal(b)
	dbURL := fleetDatabaseURL(b)
	o := datasetOptions(21)
	o.Projects, o.PipelinesPerProject, o.BigTestJob = 1, 20, big
	fake := circlecitest.NewServer(o)
	b.Cleanup(fake.Close)
	tokenEnv := newEnvName("TOKEN")
	b.Setenv(tokenEnv, fake.Token())
	tq := newID("bench-extras")
	startWorker(b, tsrv, tq, dbURL)
	s := &syncer{c: tsrv.Client(), taskQueue: tq}
	ins := connectionInputs(fake, newID("extras"), tokenEnv)
	for i := range ins {
		ins[i].Include = []string{workflows.IncludeJobDetails, workflows.IncludeTests}
	}
	start, _ := currentRSS()
	var peak atomic.Int64
	stop := sampleRSS(&peak)
	runOrFail(b, s, ins)
	stop()
	full := extrasRequests(fake)
	ex := fake.Expected(fake.Token())
	tests, testReq := fake.ExpectedTests(fake.Token(), nil)
	details := len(fake.ExpectedJobDetails(fake.Token()))
	minimum := ex.MinimumRequests.Total + details + testReq
	total := fake.Stats().Total
	fmt.Printf("job extras, full sync (%d jobs with details, %d jobs' tests, big job %d results): %d requests, "+
		"minimum %d (%d default + %d details + %d test pages): %.4f× (extras alone: %d requests, %.4f×)\n",
		details, len(tests), big, total, minimum, ex.MinimumRequests.Total, details, testReq,
		float64(total)/float64(minimum), full, float64(full)/float64(details+testReq))

	fake.Advance(circlecitest.Advance{NewPipelines: 5, FinishRunning: true})
	_, testReq2 := fake.ExpectedTests(fake.Token(), nil)
	details2 := len(fake.ExpectedJobDetails(fake.Token()))
	runOrFail(b, s, ins)
	cycle := extrasRequests(fake) - full
	newMin := int64(details2 - details + testReq2 - testReq)
	fmt.Printf("job extras, incremental cycle: %d extras requests for %d new jobs' details and %d new test pages "+
		"(%d requests beyond the new jobs')\n", cycle, details2-details, testReq2-testReq, cycle-newMin)
	return extrasFigures{startKB: start, peakKB: max(peak.Load(), start)}
}

// runOrFail runs a cycle of every connection and fails b on an error.
func runOrFail(b *testing.B, s *syncer, ins []workflows.ConnectionSyncInput) {
	results, errs := s.runAll(ins)
	for i, err := range errs {
		if err != nil || results[i].FailedProjects > 0 {
			b.Fatalf("sync %s: %v %+v", ins[i].ConnectionID, err, results[i].Projects)
		}
	}
}

// extrasRequests counts the fake's job-details and test requests so far.
func extrasRequests(fake *circlecitest.Server) int64 {
	st := fake.Stats()
	return sumStatus(st.Requests[circlecitest.RouteJobDetails]) + sumStatus(st.Requests[circlecitest.RouteJobTests])
}

// currentRSS returns this process's resident set size in KiB.
func currentRSS() (int64, error) {
	_, rss, err := memoryKB(os.Getpid())
	return rss, err
}

// sampleRSS records the highest RSS seen every 50 ms in peak until stopped.
func sampleRSS(peak *atomic.Int64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if kb, err := currentRSS(); err == nil && kb > peak.Load() {
				peak.Store(kb)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}
