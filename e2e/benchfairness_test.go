package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/internal/testenv"
	"github.com/circleci-sync/circleci-sync/syncworker"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// The shape of BenchmarkFairness: one big organisation and a few small ones, each
// its own fake and token, on one worker; fairSlots is the saturated modes' slots,
// fewer than the big one's projects, so that its activities queue.
const (
	fairBigProjects   = 50
	fairBigPipelines  = 60
	fairSmallOrgs     = 5
	fairSmallProjects = 2
	fairPipelines     = 20
	fairLatency       = 100 * time.Millisecond
	fairSlots         = 12
)

// fairFigures are one mode's times: each small organisation alone and while
// the big one runs, and the big one's.
type fairFigures struct {
	fairMode
	solo, shared []time.Duration
	big          time.Duration
	bigAfter     time.Duration // from the small ones' last end to the big one's
	alone, small waits         // of the first small one, alone and beside the big one
}

// fairMode is one setting measured: fairness, the worker's activity slots and
// the big one's projects at once.
type fairMode struct {
	name, mode string
	fair       bool
	slots      int
	bigAtOnce  int
}

// fairModes are the modes measured: the worker's and the sync's defaults with
// fairness on and off, then a worker of fairSlots slots (saturated by the big
// one's 50 projects at once, or not by 8) as before the slots were sized for I/O.
var fairModes = []fairMode{
	{"on", "fairness on, defaults", true, syncworker.DefaultMaxConcurrentActivities, workflows.DefaultMaxConcurrentProjects},
	{"off", "fairness off (FIFO), defaults", false, syncworker.DefaultMaxConcurrentActivities, workflows.DefaultMaxConcurrentProjects},
	{"on-saturated", "fairness on, the big one 50 projects at once", true, fairSlots, fairBigProjects},
	{"off-saturated", "fairness off (FIFO), the big one 50 projects at once", false, fairSlots, fairBigProjects},
	{"on-bounded", "fairness on, the big one 8 projects at once", true, fairSlots, 8},
}

// BenchmarkFairness syncs the small organisations alone, then with the big one,
// in each of fairModes on a dev server of its own, and prints the times. Run it
// with `make bench-fairness`.
func BenchmarkFairness(b *testing.B) {
	var all []fairFigures
	for _, m := range fairModes {
		b.Run(m.name, func(b *testing.B) { all = append(all, fairnessRun(b, m)) })
	}
	for _, f := range all {
		printFairness(f)
	}
}

// fairFake starts a fake whose first organisation has projects projects.
func fairFake(b *testing.B, seed int64, projects, pipelines int) *circlecitest.Server {
	fake := circlecitest.NewServer(circlecitest.Options{Seed: seed, Projects: 3 * projects,
		PipelinesPerProject: pipelines, MaxWorkflowsPerPipeline: 2, MaxJobsPerWorkflow: 3, Users: 3,
		Now: time.Now().UTC().Truncate(time.Second), Token: newToken(), Faults: circlecitest.Faults{Latency: fairLatency}})
	b.Cleanup(fake.Close)
	return fake
}

// fairInput is the input of a sync of fake's first organisation as connection id.
func fairInput(b *testing.B, fake *circlecitest.Server, id string, concurrency int) workflows.ConnectionSyncInput {
	tokenEnv := newEnvName("TOKEN")
	b.Setenv(tokenEnv, fake.Token())
	return workflows.ConnectionSyncInput{ConnectionID: id, OrgSlug: orgsOf(fake.Expected(fake.Token()))[0],
		BaseURL: fake.URL, TokenEnv: tokenEnv, MaxConcurrentProjects: concurrency}
}

// timedSync runs in's sync as the starter starts it and returns its wall time.
func timedSync(b *testing.B, c client.Client, tq string, in workflows.ConnectionSyncInput) time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), syncTimeout)
	defer cancel()
	start := time.Now()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.ConnectionWorkflowID(in.ConnectionID),
		TaskQueue: tq, Priority: workflows.SyncPriority(in.ConnectionID, workflows.PriorityIncremental)},
		workflows.ConnectionSyncName, in)
	var res workflows.ConnectionSyncResult
	if err == nil {
		err = run.Get(ctx, &res)
	}
	if err != nil || res.FailedProjects > 0 {
		b.Errorf("sync %s: %v (%d failed projects)", in.ConnectionID, err, res.FailedProjects)
	}
	return time.Since(start)
}

// fairnessRun measures one mode on a dev server of its own.
func fairnessRun(b *testing.B, m fairMode) fairFigures {
	// One partition: a task queue's partitions are each fair on their own.
	tsrv := testenv.StartTemporal(b, testenv.DevServerOptions{NoFairness: !m.fair, ExtraArgs: []string{
		"--dynamic-config-value", "matching.numTaskqueueReadPartitions=1",
		"--dynamic-config-value", "matching.numTaskqueueWritePartitions=1"}})
	tq := newID("bench-fair")
	startWorker(b, tsrv, tq, testenv.SQLiteURL(b), func(cfg *syncworker.Config) {
		cfg.MaxConcurrentActivities = m.slots
		cfg.PageConcurrency = 4
		cfg.Limiter.RequestsPerSecond = 10_000
	})
	c := tsrv.Client()
	f := fairFigures{fairMode: m}
	var smalls []*circlecitest.Server
	for i := range fairSmallOrgs {
		smalls = append(smalls, fairFake(b, int64(100+i), fairSmallProjects, fairPipelines))
		f.solo = append(f.solo, timedSync(b, c, tq, fairInput(b, smalls[i], fmt.Sprintf("solo-%d", i+1), 4)))
	}
	f.alone = syncWaits(b, c, workflows.ConnectionWorkflowID("solo-1"))
	big := fairFake(b, 99, fairBigProjects, fairBigPipelines)
	bigDone := make(chan time.Duration, 1)
	bigStart := time.Now()
	go func() { bigDone <- timedSync(b, c, tq, fairInput(b, big, "big", m.bigAtOnce)) }()
	// The big one's projects have started: its activities fill the slots.
	for deadline := time.Now().Add(time.Minute); big.Stats().Total < 400 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	f.shared = make([]time.Duration, fairSmallOrgs)
	var wg sync.WaitGroup
	for i, fake := range smalls {
		in := fairInput(b, fake, fmt.Sprintf("small-%d", i+1), 4)
		wg.Go(func() { f.shared[i] = timedSync(b, c, tq, in) })
	}
	wg.Wait()
	smallsEnd := time.Now()
	f.small = syncWaits(b, c, workflows.ConnectionWorkflowID("small-1"))
	f.big = <-bigDone
	f.bigAfter = bigStart.Add(f.big).Sub(smallsEnd)
	return f
}

// printFairness prints a mode's figures: the small ones' solo and shared times
// and the largest ratio.
func printFairness(f fairFigures) {
	worst := 0.0
	for i := range f.solo {
		worst = max(worst, f.shared[i].Seconds()/f.solo[i].Seconds())
	}
	round := func(ds []time.Duration) []time.Duration {
		out := slices.Clone(ds)
		for i := range out {
			out[i] = out[i].Round(10 * time.Millisecond)
		}
		return out
	}
	fmt.Fprintf(os.Stdout, "fairness: %s: %d small orgs (%d projects × %d pipelines) beside one of %d projects × %d pipelines (%d at once), %d activity slots, %s per request\n",
		f.mode, fairSmallOrgs, fairSmallProjects, fairPipelines, fairBigProjects, fairBigPipelines, f.bigAtOnce, f.slots, fairLatency)
	fmt.Fprintf(os.Stdout, "  small, alone:         %v\n  small, with the big:  %v\n  worst ratio %.2f×; the big one took %s, ending %s after the last small one\n",
		round(f.solo), round(f.shared), worst, f.big.Round(10*time.Millisecond), f.bigAfter.Round(10*time.Millisecond))
	for _, w := range []struct {
		when string
		w    waits
	}{{"alone:         ", f.alone}, {"beside the big:", f.small}} {
		fmt.Fprintf(os.Stdout, "  small-1 %s activities waited %s in the queue and ran %s; workflow tasks waited %s\n",
			w.when, w.w.activityQueue.Round(10*time.Millisecond), w.w.activityRun.Round(10*time.Millisecond),
			w.w.workflowQueue.Round(10*time.Millisecond))
	}
}

// waits sums where a sync's time went: activity tasks waiting to start,
// activities running, workflow tasks waiting, over the workflow and its children.
type waits struct{ activityQueue, activityRun, workflowQueue time.Duration }

// syncWaits reads the waits of workflow id (its last run) and its children.
func syncWaits(b *testing.B, c client.Client, id string) waits {
	var w waits
	scheduled := map[int64]time.Time{}
	started := map[int64]time.Time{}
	it := c.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			b.Errorf("history of %s: %v", id, err)
			return w
		}
		at := ev.GetEventTime().AsTime()
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
			scheduled[ev.GetEventId()] = at
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			a := ev.GetActivityTaskStartedEventAttributes()
			w.activityQueue += at.Sub(scheduled[a.GetScheduledEventId()])
			started[ev.GetEventId()] = at
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			w.activityRun += at.Sub(started[ev.GetActivityTaskCompletedEventAttributes().GetStartedEventId()])
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			w.workflowQueue += at.Sub(scheduled[ev.GetWorkflowTaskStartedEventAttributes().GetScheduledEventId()])
		case enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
			cw := syncWaits(b, c, ev.GetChildWorkflowExecutionStartedEventAttributes().GetWorkflowExecution().GetWorkflowId())
			w.activityQueue += cw.activityQueue
			w.activityRun += cw.activityRun
			w.workflowQueue += cw.workflowQueue
		}
	}
	return w
}
