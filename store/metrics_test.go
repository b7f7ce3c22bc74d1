package store

import (
	"context"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// metricsFixture writes runs of build-and-test whose metrics are worked out by hand in
// TestWorkflowMetrics: on main, w1 failed and its rerun w1r succeeded, w2 failed, w3
// succeeded, w4 was canceled and w5 runs; on feature, wf failed.
func metricsFixture(t *testing.T, st Store) {
	t.Helper()
	sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	run := func(id, pipeline, status string, created time.Duration, took float64) circleci.Workflow {
		w := newWorkflow(id, pipeline, "gh/acme/api", status, nil)
		w.CreatedAt = base.Add(created)
		if took >= 0 {
			w.StoppedAt = ptr(w.CreatedAt.Add(sec(took)))
		}
		return w
	}
	var b Batch
	for i, id := range []string{"p1", "p2", "p3", "p4", "p5", "p6"} {
		p := newPipeline(id, "gh/acme/api", int64(i+1), base.Add(time.Duration(i)*time.Minute))
		if id == "p6" {
			p.VCS.Branch = ptr("feature")
		}
		b.Pipelines = append(b.Pipelines, p)
	}
	b.Workflows = []circleci.Workflow{
		run("w1", "p1", "failed", 0, 100.5),
		run("w1r", "p1", "success", 5*time.Minute, 40.9),
		run("w2", "p2", "failed", 10*time.Minute, 200),
		run("wf", "p6", "failed", 15*time.Minute, 10),
		run("w3", "p3", "success", 20*time.Minute, 61.9),
		run("w4", "p4", "canceled", 30*time.Minute, 5),
		run("w5", "p5", "running", 40*time.Minute, -1),
	}
	write(t, st, b)
}

// TestWorkflowMetrics: the window summaries and the daily views give the hand-worked
// figures on both backends: nearest-rank percentiles, the rounded mean, truncated
// durations, MTTR from a streak's first failure, canceled runs out of the success rate.
func TestWorkflowMetrics(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st Store) {
		metricsFixture(t, st)
		ctx := context.Background()
		f := WindowFilter{From: base.Add(-time.Hour), To: base.Add(23 * time.Hour)}
		byBranch, err := st.WorkflowSummaries(ctx, f)
		require.NoError(t, err)
		require.Len(t, byBranch, 2)
		assert.Equal(t, WorkflowSummary{ProjectSlug: "gh/acme/api", WorkflowName: "build-and-test", Branch: "feature",
			Runs: 1, Failed: 1, Throughput: 1, DurationMin: ptr[int64](10), DurationMean: ptr[int64](10),
			DurationMedian: ptr[int64](10), DurationP95: ptr[int64](10), DurationMax: ptr[int64](10),
			Pipelines: 1}, byBranch[0])
		main := WorkflowSummary{ProjectSlug: "gh/acme/api", WorkflowName: "build-and-test", Branch: "main",
			Runs: 6, Successful: 2, Failed: 2, Canceled: 1, SuccessRate: 0.4, Throughput: 6,
			DurationMin: ptr[int64](5), DurationMean: ptr[int64](81), DurationMedian: ptr[int64](61),
			DurationP95: ptr[int64](200), DurationMax: ptr[int64](200), Recoveries: 2, MTTR: ptr[int64](350),
			Pipelines: 5, RerunPipelines: 1, RerunsAfterFailure: 1, SuccessesAfterRerun: 1}
		assert.Equal(t, main, byBranch[1])

		f.AllBranches = true
		all, err := st.WorkflowSummaries(ctx, f)
		require.NoError(t, err)
		require.Len(t, all, 1)
		assert.Equal(t, WorkflowSummary{ProjectSlug: "gh/acme/api", WorkflowName: "build-and-test",
			Runs: 7, Successful: 2, Failed: 3, Canceled: 1, SuccessRate: 2.0 / 6, Throughput: 7,
			DurationMin: ptr[int64](5), DurationMean: ptr[int64](69), DurationMedian: ptr[int64](40),
			DurationP95: ptr[int64](200), DurationMax: ptr[int64](200), Recoveries: 2, MTTR: ptr[int64](350),
			Pipelines: 6, RerunPipelines: 1, RerunsAfterFailure: 1, SuccessesAfterRerun: 1}, all[0])

		late, err := st.WorkflowSummaries(ctx, WindowFilter{From: base.Add(7 * time.Minute), To: base.Add(time.Hour)})
		require.NoError(t, err)
		require.Len(t, late, 2)
		assert.Equal(t, int64(1), late[1].Recoveries, "w1's recovery is before the window")
		assert.Equal(t, ptr[int64](461), late[1].MTTR)

		daily := readRows(t, st, &table{name: "circleci_workflow_daily", cols: []column{
			{"branch", colText}, {"runs", colInt}, {"successful_runs", colInt}, {"canceled_runs", colInt},
			{"throughput", colInt}, {"duration_median_secs", colInt}, {"duration_p95_secs", colInt},
			{"duration_mean_secs", colInt}, {"recoveries", colInt}, {"mttr_secs", colInt}}}, "branch = 'main'")
		require.Len(t, daily, 1)
		assert.Equal(t, map[string]any{"branch": "main", "runs": int64(6), "successful_runs": int64(2),
			"canceled_runs": int64(1), "throughput": int64(6), "duration_median_secs": int64(61),
			"duration_p95_secs": int64(200), "duration_mean_secs": int64(81), "recoveries": int64(2),
			"mttr_secs": int64(350)}, daily[0])

		reruns := readRows(t, st, &table{name: "circleci_workflow_reruns_daily", cols: []column{
			{"pipelines", colInt}, {"rerun_pipelines", colInt}, {"reruns_after_failure", colInt},
			{"successes_after_rerun", colInt}}}, "branch = 'main'")
		assert.Equal(t, []map[string]any{{"pipelines": int64(5), "rerun_pipelines": int64(1),
			"reruns_after_failure": int64(1), "successes_after_rerun": int64(1)}}, reruns)
	})
}

// TestMetricViewsShared: every metric view but circleci_workflow_runs and
// circleci_job_queue (the dialects' dates) and circleci_flaky_tests (their clocks)
// has the same text in both dialects' migration.
func TestMetricViewsShared(t *testing.T) {
	views := func(dialect string) map[string]string {
		b, err := os.ReadFile("migrations/" + dialect + "/0007_metric_views.sql")
		require.NoError(t, err)
		out := map[string]string{}
		re := regexp.MustCompile(`(?s)CREATE VIEW (\w+) AS\n(.*?);\n`)
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			out[m[1]] = m[2]
		}
		return out
	}
	lite, pg := views("sqlite"), views("postgres")
	require.Len(t, lite, 8)
	require.Len(t, pg, 8)
	for name, text := range lite {
		if name != "circleci_workflow_runs" && name != "circleci_job_queue" && name != "circleci_flaky_tests" {
			assert.Equal(t, text, pg[name], name)
		}
	}
}
