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

func TestCounts(t *testing.T) {
	ctx := context.Background()
	dbURL := testenv.SQLiteURL(t)
	st, err := store.Open(ctx, dbURL)
	require.NoError(t, err)
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err = st.WriteBatch(ctx, store.Batch{
		Projects: []circleci.Project{{Slug: "gh/acme/api", Name: "api"}},
		Pipelines: []circleci.Pipeline{
			{ID: "p1", ProjectSlug: "gh/acme/api", Number: 1, State: "created", CreatedAt: created},
			{ID: "p2", ProjectSlug: "gh/acme/api", Number: 2, State: "created", CreatedAt: created},
		},
		Skipped: []store.Skipped{
			{EntityRef: store.EntityRef{Kind: store.KindPipeline, ID: "p0"}, ProjectSlug: "gh/acme/api", Reason: "expired", HTTPStatus: 404},
			{EntityRef: store.EntityRef{Kind: store.KindUser, ID: "u0"}, Reason: "not_found", HTTPStatus: 404},
		},
	})
	require.NoError(t, err)
	require.NoError(t, st.SaveConnectionState(ctx, store.ConnectionState{
		ConnectionID: "demo", OrgSlug: "gh/acme", Projects: []string{"gh/acme/api"},
		LastRunAt: created, LastRun: map[string]int64{"pipelines": 2, "requests": 7},
	}))
	require.NoError(t, st.Close())

	var out, errOut bytes.Buffer
	require.NoError(t, run(ctx, []string{"counts", "-database-url", dbURL, "-connection", "demo"}, &out, &errOut), errOut.String())
	text := out.String()
	require.Contains(t, text, "Database "+dbURL)
	require.Regexp(t, `circleci_projects +1\n`, text)
	require.Regexp(t, `circleci_pipelines +2\n`, text)
	require.Regexp(t, `circleci_jobs +0\n`, text)
	require.Regexp(t, `circleci_skipped +2\n`, text)
	require.Contains(t, text, "Skipped (could not be fetched): pipeline expired 1, user not_found 1")
	require.Contains(t, text, "Connection demo (gh/acme): last sync completed 2026-01-01T00:00:00Z, 1 projects")
	require.Contains(t, text, "last run: pipelines=2 requests=7")

	// -counts is the same mode; a connection without a run says so.
	out.Reset()
	t.Setenv("DATABASE_URL", dbURL)
	require.NoError(t, run(ctx, []string{"-counts", "-connection", "other"}, &out, &errOut))
	require.Contains(t, out.String(), "Connection other: no completed sync on record")
}

func TestCountsBadURL(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"counts", "-database-url", "mysql://u:secret@h/db"}, &out, &errOut)
	require.ErrorContains(t, err, "open the database")
	require.NotContains(t, err.Error(), "secret")
}
