package main

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/internal/testenv"
	"github.com/circleci-sync/circleci-sync/store"
)

// TestReport: a table per project of the connection, per name or per branch, with
// the window's metrics; a project outside the connection is left out.
func TestReport(t *testing.T) {
	ctx := context.Background()
	dbURL := testenv.SQLiteURL(t)
	st, err := store.Open(ctx, dbURL)
	require.NoError(t, err)
	now := time.Now().UTC().Truncate(time.Second)
	rev := "abc123"
	branch := func(b string) *circleci.VCS { return &circleci.VCS{Branch: &b, Revision: &rev} }
	var batch store.Batch
	for i, slug := range []string{"gh/acme/api", "gh/acme/api", "gh/acme/web"} {
		id := string(rune('a' + i))
		created := now.Add(-time.Duration(i+1) * time.Hour)
		batch.Pipelines = append(batch.Pipelines, circleci.Pipeline{ID: "p" + id, ProjectSlug: slug, Number: int64(i + 1),
			State: "created", CreatedAt: created, VCS: branch([]string{"main", "dev", "main"}[i])})
		stopped := created.Add(90 * time.Second)
		batch.Workflows = append(batch.Workflows, circleci.Workflow{ID: "w" + id, PipelineID: "p" + id, ProjectSlug: slug,
			Name: "build", Status: []string{"success", "failed", "success"}[i], CreatedAt: created, StoppedAt: &stopped})
	}
	// Job 7 of pipeline a: its test T failed; job 8, its rerun on the same commit, passed.
	for i, n := range []int64{7, 8} {
		stopped := now.Add(-30 * time.Minute)
		batch.Jobs = append(batch.Jobs, circleci.Job{ID: fmt.Sprint("j", n), WorkflowID: "wa", ProjectSlug: "gh/acme/api",
			JobNumber: &n, Name: "unit", Type: "build", Status: "success", StoppedAt: &stopped})
		batch.TestResults = append(batch.TestResults, store.TestResult{ProjectSlug: "gh/acme/api", JobNumber: n,
			TestResult: circleci.TestResult{Classname: "api", Name: "T", Result: []string{"failure", "success"}[i]}})
		queued := now.Add(-40 * time.Minute)
		batch.JobDetails = append(batch.JobDetails, circleci.JobDetails{ProjectSlug: "gh/acme/api", Number: n,
			JobID: fmt.Sprint("j", n), Name: "unit", Status: "success", QueuedAt: &queued,
			StartedAt: ptr(queued.Add(time.Duration(n) * time.Second)), Executor: circleci.JobExecutor{ResourceClass: "medium"}})
	}
	_, err = st.WriteBatch(ctx, batch)
	require.NoError(t, err)
	require.NoError(t, st.SaveConnectionState(ctx, store.ConnectionState{ConnectionID: "demo", OrgSlug: "gh/acme",
		Projects: []string{"gh/acme/api"}}))
	require.NoError(t, st.Close())

	var out, errOut bytes.Buffer
	require.NoError(t, run(ctx, []string{"report", "-database-url", dbURL, "-connection", "demo", "-since", "7d"}, &out, &errOut),
		errOut.String())
	text := out.String()
	require.Contains(t, text, "Report of connection demo: runs created")
	require.Contains(t, text, "\ngh/acme/api\n")
	require.NotContains(t, text, "gh/acme/web")
	require.Regexp(t, `build +\(all\) +2 +50\.0% +0\.29 +1m30s +1m30s +1m30s +1m30s +1m30s +1h0m0s +0\.0% +-\n`, text)
	require.Regexp(t, `medium +2 +7s +8s +8s\n`, text)
	require.Regexp(t, `  1 +\d{4}-\d\d-\d\d \d\d:\d\d +unit +api\.T\n`, text)

	out.Reset()
	require.NoError(t, run(ctx, []string{"report", "-database-url", dbURL, "-branches", "-since", "72h"}, &out, &errOut))
	text = out.String()
	require.Contains(t, text, "Report of every project")
	require.Regexp(t, `build +dev +1 +0\.0% +0\.33 `, text)
	require.Regexp(t, `build +main +1 +100\.0% `, text)
	require.Contains(t, text, "\ngh/acme/web\n")

	out.Reset()
	require.NoError(t, run(ctx, []string{"report", "-database-url", dbURL, "-connection", "other"}, &out, &errOut))
	require.Contains(t, out.String(), "Connection other: no projects on record")

	for _, bad := range []string{"0d", "x", "-3h"} {
		err := run(ctx, []string{"report", "-database-url", dbURL, "-since", bad}, &out, &errOut)
		require.ErrorAs(t, err, new(usageError), bad)
	}
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }
