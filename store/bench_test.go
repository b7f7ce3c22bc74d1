package store

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// BenchmarkWriteBatch writes batches shaped like one page of a sync: 20 pipelines
// with 2 workflows of 10 jobs each (460 rows), each item with 0.5-1 KB of raw JSON,
// all new rows. It reports rows/s. The postgres sub-benchmark needs
// TEST_DATABASE_URL.
//
//	TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//		go test -run '^$' -bench BenchmarkWriteBatch -benchtime 3s ./store/
func BenchmarkWriteBatch(b *testing.B) {
	forEachBenchBackend(b, func(b *testing.B, st Store) {
		benchPages(b, st, func(i int) Batch { return benchPage(i, "running") })
	})
}

// BenchmarkWriteBatchUpdate rewrites pages already stored, their workflows and jobs
// now finished: the update path of the upsert and its guard.
func BenchmarkWriteBatchUpdate(b *testing.B) {
	forEachBenchBackend(b, func(b *testing.B, st Store) {
		const pages = 16
		for i := range pages {
			if _, err := st.WriteBatch(context.Background(), benchPage(i, "running")); err != nil {
				b.Fatal(err)
			}
		}
		benchPages(b, st, func(i int) Batch {
			status := "success"
			if (i/pages)%2 == 1 {
				// Back to running: refused by the guard, the cheapest path.
				status = "running"
			}
			return benchPage(i%pages, status)
		})
	})
}

// forEachBenchBackend runs bench on a fresh store of each backend.
func forEachBenchBackend(b *testing.B, bench func(b *testing.B, st Store)) {
	b.Run("sqlite", func(b *testing.B) {
		st, _ := openTestSQLite(b)
		bench(b, st)
	})
	b.Run("postgres", func(b *testing.B) {
		if os.Getenv("TEST_DATABASE_URL") == "" {
			b.Skip("TEST_DATABASE_URL is empty")
		}
		st, _ := openTestPostgres(b)
		bench(b, st)
	})
}

// benchPages writes page(i) for i = 0..b.N-1, building pages off the clock, and
// reports rows/s.
func benchPages(b *testing.B, st Store, page func(i int) Batch) {
	ctx := context.Background()
	rows := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		batch := page(i)
		rows += len(batch.Pipelines) + len(batch.Workflows) + len(batch.Jobs)
		b.StartTimer()
		if _, err := st.WriteBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(rows)/float64(b.N), "rows/op")
}

// benchPage is page n of a sync of one project, its workflows and jobs in status
// (finished ones with stopped_at set).
func benchPage(n int, status string) Batch {
	const slug = "gh/acme/monorepo"
	var b Batch
	created := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC).Add(-time.Duration(n) * time.Hour)
	var stopped *time.Time
	if status != "running" {
		stopped = ptr(created.Add(20 * time.Minute))
	}
	for p := range 20 {
		pid := fmt.Sprintf("5034460f-c7c4-4c43-9457-de07e2%06d", n*20+p)
		pl := circleci.Pipeline{
			ID: pid, ProjectSlug: slug, Number: int64(100000 - n*20 - p), State: circleci.PipelineStateCreated,
			CreatedAt: created.Add(-time.Duration(p) * time.Minute), UpdatedAt: ptr(created),
			Trigger: circleci.Trigger{Type: "webhook", ReceivedAt: created, Actor: circleci.Actor{Login: "octocat", AvatarURL: ptr("https://avatars.githubusercontent.com/u/583231?v=4")}},
			VCS: &circleci.VCS{
				ProviderName: "GitHub", OriginRepositoryURL: "https://github.com/acme/monorepo",
				TargetRepositoryURL: "https://github.com/acme/monorepo", Revision: ptr("f1d2d2f924e986ac86fdf7b36c94bcdf32beec15"),
				Branch: ptr("feature/some-branch-name"), Commit: &circleci.Commit{Subject: ptr("Make the widget frobnicate faster"), Body: ptr(strings.Repeat("Body text. ", 12))},
			},
		}
		pl.Raw = benchRaw(pl, 200)
		b.Pipelines = append(b.Pipelines, pl)
		for w := range 2 {
			wid := fmt.Sprintf("%s-w%d", pid, w)
			wf := circleci.Workflow{
				ID: wid, PipelineID: pid, PipelineNumber: pl.Number, ProjectSlug: slug, Name: fmt.Sprintf("workflow-%d", w),
				Status: status, StartedBy: ptr("a9e9c1d8-bc8c-4d16-b0c9-3e2f5e0e4f1a"), CreatedAt: created, StoppedAt: stopped,
			}
			wf.Raw = benchRaw(wf, 350)
			b.Workflows = append(b.Workflows, wf)
			for j := range 10 {
				job := circleci.Job{
					ID: fmt.Sprintf("%s-j%d", wid, j), WorkflowID: wid, ProjectSlug: slug, Name: fmt.Sprintf("test-shard-%d", j),
					Type: circleci.JobTypeBuild, Status: status, JobNumber: ptr(int64(n*400 + p*20 + w*10 + j)),
					Dependencies: []string{"build", "lint"}, StartedAt: ptr(created.Add(time.Minute)), StoppedAt: stopped,
				}
				job.Raw = benchRaw(job, 300)
				b.Jobs = append(b.Jobs, job)
			}
		}
	}
	return b
}

// benchRaw is v's JSON with extra fields, about pad bytes more: CircleCI's items
// carry more than the models decode.
func benchRaw(v any, pad int) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	extra, _ := json.Marshal(map[string]any{
		"web_url":  "https://app.circleci.com/pipelines/github/acme/monorepo/12345/workflows/abc",
		"executor": map[string]any{"type": "docker", "resource_class": "large"},
		"notes":    strings.Repeat("x", max(0, pad-130)),
	})
	return append(append(b[:len(b)-1:len(b)-1], ','), extra[1:]...)
}

// BenchmarkNewestPipelines reads the newest pipeline of each of 50 projects among
// 100,000 stored pipelines: what the metrics' freshness collector asks on a scrape.
// Its cost grows with the number of projects (see newestPipelinesQuery).
//
//	go test -run '^$' -bench BenchmarkNewestPipelines ./store/
func BenchmarkNewestPipelines(b *testing.B) {
	forEachBenchBackend(b, func(b *testing.B, st Store) {
		const projects, pipelines, perBatch = 50, 100_000, 1000
		ctx := context.Background()
		for i := 0; i < pipelines; i += perBatch {
			var batch Batch
			for j := i; j < i+perBatch; j++ {
				slug := fmt.Sprintf("gh/o/p%02d", j%projects)
				batch.Pipelines = append(batch.Pipelines, newPipeline(fmt.Sprintf("p%06d", j), slug, int64(j), base.Add(time.Duration(j)*time.Second)))
			}
			if _, err := st.WriteBatch(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
		for b.Loop() {
			got, err := st.NewestPipelines(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if len(got) != projects {
				b.Fatalf("got %d projects, want %d", len(got), projects)
			}
		}
	})
}
