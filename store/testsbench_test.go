package store

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// BenchmarkWriteTestResults writes test results in transactions of 20 results (a
// page of the fake) and of 1,000 (what SyncJobExtras gathers before it writes), each result
// with names and a file like real JUnit reports, one in ten failing with a 1 KB
// message. It reports rows/s (issue 15's target: 20,000 rows/s on PostgreSQL).
//
//	TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//		go test -run '^$' -bench BenchmarkWriteTestResults -benchtime 2s ./store/
func BenchmarkWriteTestResults(b *testing.B) {
	for _, size := range []int{20, 1000} {
		b.Run(fmt.Sprintf("page=%d", size), func(b *testing.B) {
			forEachBenchBackend(b, func(b *testing.B, st Store) {
				ctx := context.Background()
				rows := 0
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					batch := benchTestPage(i, size)
					rows += len(batch.TestResults)
					b.StartTimer()
					if _, err := st.WriteBatch(ctx, batch); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
			})
		})
	}
}

// benchTestPage is transaction n of big jobs' results (the ledger entry with every
// 40th, as if jobs of 40 ended there).
func benchTestPage(n, size int) Batch {
	const slug = "gh/acme/monorepo"
	job := int64(1000 + n/40)
	b := Batch{TestResults: make([]TestResult, size)}
	msg := strings.Repeat("expected 200 but got 500\n", 40)
	for k := range size {
		ord := int64((n%40)*size + k)
		r := TestResult{ProjectSlug: slug, JobNumber: job, Ordinal: ord, TestResult: circleci.TestResult{
			Classname: fmt.Sprintf("com.acme.monorepo.service.Suite%d", ord/25),
			Name:      fmt.Sprintf("test_handles_request_variant_%d", ord),
			File:      fmt.Sprintf("services/api/src/test/java/com/acme/Suite%d.java", ord/25),
			Result:    "success", RunTime: float64(ord%997) / 100, Source: "junit"}}
		if ord%10 == 3 {
			r.Result, r.Message = "failure", &msg
		}
		b.TestResults[k] = r
	}
	if n%40 == 39 {
		b.JobTests = []JobTests{{ProjectSlug: slug, JobNumber: job, Outcome: TestsFetched, Results: int64(40 * size), Pages: 40}}
	}
	return b
}
