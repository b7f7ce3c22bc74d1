package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// BenchmarkWorkflowSummaries sums up 100,000 workflow runs (50,000 pipelines of 10
// projects over 90 days, 2 names, 4 branches, a rerun in 1 pipeline of 10) over the
// 30 days of `starter report`, all branches: what one report asks. It reports the
// runs summed up per second.
//
//	go test -run '^$' -bench BenchmarkWorkflowSummaries ./store/
func BenchmarkWorkflowSummaries(b *testing.B) {
	forEachBenchBackend(b, func(b *testing.B, st Store) {
		const pipelines, perBatch = 50_000, 1000
		ctx := context.Background()
		end := base.Add(90 * 24 * time.Hour)
		runs := 0
		for i := 0; i < pipelines; i += perBatch {
			batch := summaryBenchBatch(i, perBatch, end)
			if _, err := st.WriteBatch(ctx, batch); err != nil {
				b.Fatal(err)
			}
			runs += len(batch.Workflows)
		}
		f := WindowFilter{From: end.Add(-30 * 24 * time.Hour), To: end, AllBranches: true}
		var inWindow int64
		for b.Loop() {
			sums, err := st.WorkflowSummaries(ctx, f)
			if err != nil {
				b.Fatal(err)
			}
			inWindow = 0
			for _, s := range sums {
				inWindow += s.Runs
			}
		}
		b.ReportMetric(float64(inWindow)*float64(b.N)/b.Elapsed().Seconds(), "runs/s")
		b.ReportMetric(float64(inWindow), "runs/op")
		b.ReportMetric(float64(runs), "stored-runs")
	})
}

// summaryBenchBatch is pipelines first..first+n-1, spread evenly over the 90 days
// before end, with their workflows.
func summaryBenchBatch(first, n int, end time.Time) Batch {
	var batch Batch
	statuses := []string{"success", "success", "success", "failed", "success", "canceled", "success", "error"}
	step := 90 * 24 * time.Hour / 50_000
	for j := first; j < first+n; j++ {
		created := end.Add(-time.Duration(50_000-j) * step)
		p := newPipeline(fmt.Sprintf("p%06d", j), fmt.Sprintf("gh/o/p%d", j%10), int64(j), created)
		p.VCS.Branch = ptr([]string{"main", "dev", "feature/a", "feature/b"}[j%4])
		p.Raw = nil
		batch.Pipelines = append(batch.Pipelines, p)
		for w, name := range []string{"build", "deploy"} {
			if name == "deploy" && j%10 == 0 {
				name = "build" // a rerun of build
			}
			wf := circleci.Workflow{ID: fmt.Sprintf("w%06d-%d", j, w), PipelineID: p.ID, PipelineNumber: int64(j),
				ProjectSlug: p.ProjectSlug, Name: name, Status: statuses[(j+w)%len(statuses)],
				CreatedAt: created.Add(time.Duration(w) * time.Minute),
				StoppedAt: ptr(created.Add(time.Duration(60+(j*7+w*13)%1800) * time.Second))}
			batch.Workflows = append(batch.Workflows, wf)
		}
	}
	return batch
}
