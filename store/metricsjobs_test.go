package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// TestJobQueueAndFlakyViews: queue times by resource class with nearest-rank
// percentiles in milliseconds, and flakes (a pass and a failure of one test on one
// commit, a job rerun listed under two workflows counted once), flaky for 14 days.
func TestJobQueueAndFlakyViews(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st Store) {
		now := time.Now().UTC().Truncate(time.Millisecond)
		slug := "gh/acme/api"
		var b Batch
		for _, p := range []struct{ id, rev string }{{"pa", "aaa"}, {"pb", "bbb"}, {"pc", "ccc"}} {
			pl := newPipeline(p.id, slug, int64(len(b.Pipelines)+1), now.Add(-30*24*time.Hour))
			pl.VCS.Revision = ptr(p.rev)
			b.Pipelines = append(b.Pipelines, pl)
		}
		job := func(id, wf string, number int64, stopped time.Time) circleci.Job {
			j := newJob(id, wf, slug, "success", &stopped)
			j.JobNumber = &number
			return j
		}
		two, twenty := now.Add(-48*time.Hour), now.Add(-20*24*time.Hour)
		b.Workflows = []circleci.Workflow{newWorkflow("wa", "pa", slug, "failed", &two),
			newWorkflow("wa2", "pa", slug, "success", &two), newWorkflow("wb", "pb", slug, "failed", &twenty),
			newWorkflow("wc", "pc", slug, "success", &twenty)}
		b.Jobs = []circleci.Job{job("j1", "wa", 1, two), job("j1", "wa2", 1, two), job("j3", "wa2", 3, two.Add(time.Minute)),
			job("j2", "wb", 2, twenty), job("j4", "wc", 4, twenty), job("j5", "wc", 5, twenty)}
		result := func(number, ordinal int64, name, res string) TestResult {
			return TestResult{ProjectSlug: slug, JobNumber: number, Ordinal: ordinal,
				TestResult: circleci.TestResult{Classname: "pkg", Name: name, File: "pkg/x_test.go", Result: res, Source: "junit"}}
		}
		b.TestResults = []TestResult{result(1, 0, "T1", "failure"), result(1, 1, "T2", "success"),
			result(3, 0, "T1", "success"), result(3, 1, "T2", "success"), result(2, 0, "T1", "failure"),
			result(4, 0, "T3", "success"), result(5, 0, "T3", "error")}
		q := now.Add(-time.Hour)
		for i, d := range []struct {
			number int64
			class  string
			wait   time.Duration
		}{{1, "medium", 1500 * time.Millisecond}, {2, "medium", 3200 * time.Millisecond},
			{3, "medium", 10*time.Second + 900*time.Microsecond}, {4, "large", 500 * time.Millisecond}} {
			b.JobDetails = append(b.JobDetails, circleci.JobDetails{ProjectSlug: slug, Number: d.number,
				JobID: "j" + string(rune('1'+i)), Name: "test", Status: "success", QueuedAt: &q,
				StartedAt: ptr(q.Add(d.wait)), Executor: circleci.JobExecutor{ResourceClass: d.class}})
		}
		write(t, st, b)

		queue := readRows(t, st, &table{name: "circleci_job_queue_daily", cols: []column{{"resource_class", colText},
			{"jobs", colInt}, {"queue_p50_ms", colInt}, {"queue_p95_ms", colInt}, {"queue_max_ms", colInt},
			{"queue_mean_ms", colInt}}}, "project_slug = $1 ORDER BY resource_class", slug)
		assert.Equal(t, []map[string]any{
			{"resource_class": "large", "jobs": int64(1), "queue_p50_ms": int64(500), "queue_p95_ms": int64(500),
				"queue_max_ms": int64(500), "queue_mean_ms": int64(500)},
			{"resource_class": "medium", "jobs": int64(3), "queue_p50_ms": int64(3200), "queue_p95_ms": int64(10000),
				"queue_max_ms": int64(10000), "queue_mean_ms": int64(4900)}}, queue)

		flakes := readRows(t, st, &table{name: "circleci_test_flakes", cols: []column{{"name", colText},
			{"revision", colText}, {"passes", colInt}, {"failures", colInt}, {"flaked_at", colTime}}}, "true ORDER BY name")
		require.Len(t, flakes, 2)
		assert.Equal(t, map[string]any{"name": "T1", "revision": "aaa", "passes": int64(1), "failures": int64(1),
			"flaked_at": two.Add(time.Minute)}, flakes[0])
		assert.Equal(t, "ccc", flakes[1]["revision"])
		flaky := readRows(t, st, &table{name: "circleci_flaky_tests", cols: []column{{"job_name", colText},
			{"name", colText}, {"times_flaked", colInt}, {"failures", colInt}}}, "")
		assert.Equal(t, []map[string]any{{"job_name": "test", "name": "T1", "times_flaked": int64(1),
			"failures": int64(1)}}, flaky, "T3 flaked 20 days ago")

		ft, err := st.FlakyTests(t.Context())
		require.NoError(t, err)
		assert.Equal(t, []FlakyTest{{ProjectSlug: slug, JobName: "test", Classname: "pkg", Name: "T1", File: "pkg/x_test.go",
			TimesFlaked: 1, Failures: 1, LastFlakedAt: two.Add(time.Minute)}}, ft)
		qs, err := st.QueueSummaries(t.Context(), WindowFilter{From: q.Add(-time.Second), To: q})
		require.NoError(t, err)
		assert.Equal(t, []QueueSummary{{slug, "large", 1, 500, 500, 500}, {slug, "medium", 3, 3200, 10000, 10000}}, qs)
		qs, err = st.QueueSummaries(t.Context(), WindowFilter{From: q.Add(time.Second), To: now})
		require.NoError(t, err)
		assert.Empty(t, qs, "queued before the window")
	})
}
