package store

import (
	"compress/gzip"
	"context"
	"database/sql"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/internal/testenv"
)

// releaseTables are the tables a release database holds rows in.
var releaseTables = []string{
	"circleci_projects", "circleci_pipelines", "circleci_workflows", "circleci_jobs", "circleci_users",
	"circleci_skipped", "circleci_sync_connections", "circleci_sync_projects",
}

// TestMigrateFromRelease opens databases written by release 1022a59 (testdata/release):
// the migrations keep every row, jobs are then keyed by (workflow_id, id), and the same
// job id can be stored under a second workflow.
func TestMigrateFromRelease(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "release.db")
		require.NoError(t, os.WriteFile(path, gunzip(t, "testdata/release/release-sqlite.db.gz"), 0o600))
		db, err := sql.Open("sqlite", path)
		require.NoError(t, err)
		defer db.Close()
		checkReleaseMigration(t, db, "sqlite://"+path)
	})
	t.Run("postgres", func(t *testing.T) {
		u := testenv.PostgresURL(t)
		conn, err := pgx.Connect(context.Background(), u)
		require.NoError(t, err)
		_, err = conn.Exec(context.Background(), string(gunzip(t, "testdata/release/release-postgres.sql.gz")))
		require.NoError(t, err)
		require.NoError(t, conn.Close(context.Background()))
		db, err := sql.Open("pgx", u)
		require.NoError(t, err)
		defer db.Close()
		checkReleaseMigration(t, db, u)
	})
}

// checkReleaseMigration reads db's rows, opens the store at url (migrating it) and
// requires the same rows after, then a job under two workflows.
func checkReleaseMigration(t *testing.T, db *sql.DB, url string) {
	before := tableDigests(t, db, "before")
	require.Equal(t, "1,2", strings.Join(readStrings(t, db, "SELECT CAST(version AS TEXT) FROM schema_migrations ORDER BY version"), ","))
	require.Len(t, before["circleci_jobs"], 624)
	st, err := Open(context.Background(), url)
	require.NoError(t, err)
	defer func() { require.NoError(t, st.Close()) }()
	after := tableDigests(t, db, "after")
	require.Contains(t, readStrings(t, db, "SELECT CAST(version AS TEXT) FROM schema_migrations"), "4")
	for _, tbl := range releaseTables {
		t.Logf("%s: %d rows before, %d after", tbl, len(before[tbl]), len(after[tbl]))
		require.NotEmpty(t, before[tbl], tbl)
		require.Equal(t, before[tbl], after[tbl], tbl)
	}
	c := counts(t, st)
	want := Counts{Entities: map[string]int64{}, Skipped: int64(len(before["circleci_skipped"]))}
	for _, k := range EntityKinds {
		if n := len(before[k.Table()]); n > 0 { // kinds newer than the release have none
			want.Entities[k.Name] = int64(n)
		}
	}
	require.Equal(t, want, c)

	// A stored job listed again under another workflow is a second row; the first stays.
	var wf, id string
	require.NoError(t, db.QueryRow("SELECT workflow_id, id FROM circleci_jobs ORDER BY workflow_id, id LIMIT 1").Scan(&wf, &id))
	j := newJob(id, "rerun-of-"+wf, "gh/o/r", circleci.JobStatusSuccess, ptr(base))
	require.Equal(t, WriteStats{Written: 1}, write(t, st, Batch{Jobs: []circleci.Job{j}}))
	require.Equal(t, c.Entities[KindJob]+1, counts(t, st).Entities[KindJob])
	require.Len(t, readStrings(t, db, "SELECT workflow_id FROM circleci_jobs WHERE id = $1", id), 2)
}

// addedColumns are the columns later migrations add (0005): NULL on migrated rows.
var addedColumns = map[string]bool{"repaired_at": true, "insights_names": true, "insights_names_at": true}

// tableDigests returns, per release table, its rows as sorted strings (every column
// the release had; the added ones must be NULL). Each phase sends its own query text:
// pgx caches prepared statements, whose result type a migration changes.
func tableDigests(t *testing.T, db *sql.DB, phase string) map[string][]string {
	out := map[string][]string{}
	for _, tbl := range releaseTables {
		rows, err := db.Query("SELECT * FROM " + tbl + " -- " + phase)
		require.NoError(t, err)
		cols, err := rows.Columns()
		require.NoError(t, err)
		var all []string
		for rows.Next() {
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			var b strings.Builder
			for i, v := range vals {
				if addedColumns[cols[i]] {
					require.False(t, v.Valid, "%s.%s of a migrated row", tbl, cols[i])
					continue
				}
				b.WriteString(cols[i] + "=" + v.String + "|")
				if !v.Valid {
					b.WriteString("NULL|")
				}
			}
			all = append(all, b.String())
		}
		require.NoError(t, rows.Err())
		require.NoError(t, rows.Close())
		slices.Sort(all)
		out[tbl] = all
	}
	return out
}

// readStrings returns the first column of query's rows.
func readStrings(t *testing.T, db *sql.DB, query string, args ...any) []string {
	rows, err := db.Query(query, args...)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	return out
}

// gunzip returns the decompressed content of the gzipped file at path.
func gunzip(t *testing.T, path string) []byte {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	b, err := io.ReadAll(zr)
	require.NoError(t, err)
	return b
}
