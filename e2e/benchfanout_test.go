package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/internal/testenv"
	"github.com/circleci-sync/circleci-sync/syncworker"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// The shape of BenchmarkFanOutBesideALongProject: one organisation of a long
// project and many short ones, on a dev server that suggests continue-as-new
// early, so that the connection continues as new while the long one runs.
const (
	fanShort      = 40
	fanShortPipes = 20
	fanLongPipes  = 1500
	fanAtOnce     = 4
	fanSuggestAt  = 300
	fanLatency    = 10 * time.Millisecond
)

// BenchmarkFanOutBesideALongProject (`make bench-fanout`) syncs the
// organisation once and prints the time until the short projects are done,
// the whole sync's, the connection's runs and how full its fan-out was: the
// children's summed time over fanAtOnce × the wall time.
func BenchmarkFanOutBesideALongProject(b *testing.B) {
	tsrv := testenv.StartTemporal(b, testenv.DevServerOptions{ExtraArgs: []string{
		"--dynamic-config-value", fmt.Sprintf("limit.historyCount.suggestContinueAsNew=%d", fanSuggestAt)}})
	fake := circlecitest.NewServer(circlecitest.Options{Seed: 41, Projects: 1 + fanShort, OneOrg: true,
		PipelinesPerProject: fanShortPipes, BigProject: fanLongPipes, MaxWorkflowsPerPipeline: 2, MaxJobsPerWorkflow: 3,
		Users: 3, Now: time.Now().UTC().Truncate(time.Second), Token: newToken(),
		Faults: circlecitest.Faults{Latency: fanLatency}})
	b.Cleanup(fake.Close)
	tq := newID("bench-fanout")
	startWorker(b, tsrv, tq, testenv.SQLiteURL(b), func(cfg *syncworker.Config) {
		cfg.PagesPerActivity = 1
		cfg.Limiter.RequestsPerSecond = 10_000
	})
	c := tsrv.Client()
	in := fairInput(b, fake, newID("fanout"), fanAtOnce)
	start := time.Now()
	wall := timedSync(b, c, tq, in)
	chain := connectionChain(b, c, runRef{workflows.ConnectionWorkflowID(in.ConnectionID), ""})
	long, most := "", 0
	perProject := map[string]int{}
	for _, p := range fake.Expected(fake.Token()).Pipelines {
		if perProject[p.ProjectSlug]++; perProject[p.ProjectSlug] > most {
			long, most = p.ProjectSlug, perProject[p.ProjectSlug]
		}
	}
	var shortDone time.Time
	var busy time.Duration
	for _, child := range chain.Children {
		first, err := c.DescribeWorkflow(context.Background(), child.WorkflowID, child.RunID)
		if err != nil {
			b.Fatal(err)
		}
		last, err := c.DescribeWorkflow(context.Background(), child.WorkflowID, "")
		if err != nil {
			b.Fatal(err)
		}
		if last.WorkflowCloseTime == nil {
			b.Fatalf("%s has not ended", child.WorkflowID)
		}
		end := *last.WorkflowCloseTime
		busy += end.Sub(first.WorkflowStartTime)
		if child.WorkflowID != workflows.ProjectWorkflowID(in.ConnectionID, long) && end.After(shortDone) {
			shortDone = end
		}
	}
	fmt.Fprintf(os.Stdout, "fan-out beside a long project: %d projects × %d pipelines and one of %d, %d at once, "+
		"continue-as-new suggested at %d events, %s per request\n", fanShort, fanShortPipes, fanLongPipes, fanAtOnce,
		fanSuggestAt, fanLatency)
	fmt.Fprintf(os.Stdout, "  short projects done after %s; the sync took %s in %d connection runs (%d waits for carried children); fan-out %.2f full\n",
		shortDone.Sub(start).Round(10*time.Millisecond), wall.Round(10*time.Millisecond), chain.Runs, chain.Waits,
		busy.Seconds()/(fanAtOnce*wall.Seconds()))
	b.ReportMetric(shortDone.Sub(start).Seconds(), "short-done-s")
	b.ReportMetric(wall.Seconds(), "wall-s")
}
