package main

import (
	"bytes"
	"context"
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
	branch := func(b string) *circleci.VCS { return &circleci.VCS{Branch: &b} }
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
	_, err = st.WriteBatch(ctx, batch)
	require.NoError(t, err)
	require.NoError(t, st.SaveConnectionState(ctx, store.ConnectionState{ConnectionID: "demo", OrgSlug: "gh/acme",
		Projects: []string{"gh/acme/api"}}))
	require.NoError(t, st.Close())

	var out, errOut bytes.Buffer
	require.NoError(t, run(ctx, []string{"report", "-database-url", dbURL, "-connection", "demo", "-since", "7d"}, &out, &errOut),
		errOut.String())
	text := out.String()
	require.Contains(t, text, "Workflows of connection demo created")
	require.Contains(t, text, "\ngh/acme/api\n")
	require.NotContains(t, text, "gh/acme/web")
	require.Regexp(t, `build +\(all\) +2 +50\.0% +0\.29 +1m30s +1m30s +1m30s +1m30s +1m30s +1h0m0s +0\.0% +-\n`, text)

	out.Reset()
	require.NoError(t, run(ctx, []string{"report", "-database-url", dbURL, "-branches", "-since", "72h"}, &out, &errOut))
	text = out.String()
	require.Contains(t, text, "Workflows of every project")
	require.Regexp(t, `build +dev +1 +0\.0% +0\.33 `, text)
	require.Regexp(t, `build +main +1 +100\.0% `, text)
	require.Contains(t, text, "\ngh/acme/web\n")

	for _, bad := range []string{"0d", "x", "-3h"} {
		err := run(ctx, []string{"report", "-database-url", dbURL, "-since", bad}, &out, &errOut)
		require.ErrorAs(t, err, new(usageError), bad)
	}
}
