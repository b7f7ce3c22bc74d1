package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/internal/testenv"
)

// backend opens fresh, empty stores of one implementation for the conformance suite.
type backend struct {
	name string
	// open returns a fresh store, closed (and its database dropped) at the end of
	// the test, and a function opening another store on the same database.
	open func(t testing.TB) (Store, func() (Store, error))
}

// backends are the implementations every conformance test runs against.
var backends = []backend{
	{name: "sqlite", open: openTestSQLite},
	{name: "postgres", open: openTestPostgres},
}

// forEachBackend runs test as a parallel subtest against a fresh store of each backend.
func forEachBackend(t *testing.T, test func(t *testing.T, st Store)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			st, _ := b.open(t)
			test(t, st)
		})
	}
}

// openTestSQLite opens a SQLite store on a fresh temporary file, in a directory
// Open has to create, whose name has a space.
func openTestSQLite(t testing.TB) (Store, func() (Store, error)) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sub dir", "test.db")
	reopen := func() (Store, error) { return Open(context.Background(), "sqlite://"+path) }
	st, err := reopen()
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, st.Close()) })
	return st, reopen
}

// openTestPostgres opens a PostgreSQL store in a fresh schema
// (testenv.PostgresURL: skipped without TEST_DATABASE_URL, failed under CI=true).
func openTestPostgres(t testing.TB) (Store, func() (Store, error)) {
	t.Helper()
	u := testenv.PostgresURL(t)
	reopen := func() (Store, error) { return Open(context.Background(), u) }
	st, err := reopen()
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, st.Close()) })
	return st, reopen
}

// setClock makes st stamp its writes with now.
func setClock(t testing.TB, st Store, now func() time.Time) {
	t.Helper()
	switch s := st.(type) {
	case *sqliteStore:
		s.now = now
	case *pgStore:
		s.now = now
	default:
		t.Fatalf("unknown store %T", st)
	}
}

// fixedClock is a clock stuck at t.
func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// connOf returns the dbConn of st, for reading tables directly.
func connOf(t testing.TB, st Store) dbConn {
	t.Helper()
	switch s := st.(type) {
	case *sqliteStore:
		return s.db
	case *pgStore:
		return s.db
	}
	t.Fatalf("unknown store %T", st)
	return nil
}

// readRow reads the row of tbl with the given key, every column the store writes,
// as a map from column name to nil (NULL), string, int64, time.Time (UTC) or, for
// JSON columns, a string of JSON. It returns nil when there is no such row.
func readRow(t testing.TB, st Store, tbl *table, key ...string) map[string]any {
	t.Helper()
	require.Len(t, key, tbl.keyLen)
	var conds []string
	args := make([]any, len(key))
	for i, k := range key {
		conds = append(conds, fmt.Sprintf("%s = $%d", tbl.cols[i].name, i+1))
		args[i] = k
	}
	rows := readRows(t, st, tbl, strings.Join(conds, " AND "), args...)
	require.LessOrEqual(t, len(rows), 1)
	if len(rows) == 0 {
		return nil
	}
	return rows[0]
}

// readRows reads the rows of tbl matching where (all if empty), as readRow does.
func readRows(t testing.TB, st Store, tbl *table, where string, args ...any) []map[string]any {
	t.Helper()
	query := "SELECT " + strings.Join(tbl.colNames(), ", ") + " FROM " + tbl.name
	if where != "" {
		query += " WHERE " + where
	}
	rows, err := connOf(t, st).query(context.Background(), query, args...)
	require.NoError(t, err)
	defer rows.Close()
	var out []map[string]any
	for rows.Next() {
		dest := make([]any, len(tbl.cols))
		for i, c := range tbl.cols {
			switch c.typ {
			case colText, colJSON:
				dest[i] = new(sql.NullString)
			case colInt:
				dest[i] = new(sql.NullInt64)
			case colFloat:
				dest[i] = new(sql.NullFloat64)
			case colTime:
				dest[i] = new(scanTime)
			}
		}
		require.NoError(t, rows.Scan(dest...))
		row := map[string]any{}
		for i, c := range tbl.cols {
			switch d := dest[i].(type) {
			case *sql.NullString:
				if d.Valid {
					row[c.name] = d.String
				} else {
					row[c.name] = nil
				}
			case *sql.NullInt64:
				if d.Valid {
					row[c.name] = d.Int64
				} else {
					row[c.name] = nil
				}
			case *sql.NullFloat64:
				if d.Valid {
					row[c.name] = d.Float64
				} else {
					row[c.name] = nil
				}
			case *scanTime:
				if d.t.IsZero() {
					row[c.name] = nil
				} else {
					row[c.name] = d.t
				}
			}
		}
		out = append(out, row)
	}
	require.NoError(t, rows.Err())
	return out
}

// requireRow checks the columns of want in got: JSON columns as JSON, times as the
// same instant in UTC, the rest exactly.
func requireRow(t testing.TB, tbl *table, want, got map[string]any) {
	t.Helper()
	require.NotNil(t, got, "row missing from %s", tbl.name)
	types := map[string]colType{}
	for _, c := range tbl.cols {
		types[c.name] = c.typ
	}
	for name, w := range want {
		typ, ok := types[name]
		require.True(t, ok, "%s has no column %s", tbl.name, name)
		g := got[name]
		if w == nil {
			require.Nil(t, g, "%s.%s", tbl.name, name)
			continue
		}
		require.NotNil(t, g, "%s.%s", tbl.name, name)
		switch typ {
		case colJSON:
			require.JSONEq(t, w.(string), g.(string), "%s.%s", tbl.name, name)
		case colTime:
			gt := g.(time.Time)
			require.True(t, w.(time.Time).Equal(gt), "%s.%s: want %s, got %s", tbl.name, name, w, gt)
			require.Equal(t, time.UTC, gt.Location(), "%s.%s not in UTC", tbl.name, name)
		default:
			require.Equal(t, w, g, "%s.%s", tbl.name, name)
		}
	}
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// base is the reference time of the fixtures.
var base = time.Date(2024, 5, 1, 10, 0, 0, 123456000, time.UTC)

// at is base plus n minutes.
func at(n int) time.Time { return base.Add(time.Duration(n) * time.Minute) }

// newPipeline is a pipeline of the project, created at created.
func newPipeline(id, slug string, number int64, created time.Time) circleci.Pipeline {
	p := circleci.Pipeline{
		ID:          id,
		ProjectSlug: slug,
		Number:      number,
		State:       circleci.PipelineStateCreated,
		CreatedAt:   created,
		UpdatedAt:   ptr(created.Add(time.Second)),
		Trigger: circleci.Trigger{
			Type:       "webhook",
			ReceivedAt: created.Add(-time.Second),
			Actor:      circleci.Actor{Login: "octocat"},
		},
		VCS: &circleci.VCS{
			ProviderName: "GitHub",
			Revision:     ptr("0123456789abcdef"),
			Branch:       ptr("main"),
		},
	}
	p.Raw, _ = json.Marshal(p)
	return p
}

// newWorkflow is a workflow of the pipeline in the given status.
func newWorkflow(id, pipelineID, slug, status string, stopped *time.Time) circleci.Workflow {
	w := circleci.Workflow{
		ID:             id,
		PipelineID:     pipelineID,
		PipelineNumber: 1,
		ProjectSlug:    slug,
		Name:           "build-and-test",
		Status:         status,
		StartedBy:      ptr("user-1"),
		CreatedAt:      base,
		StoppedAt:      stopped,
	}
	w.Raw, _ = json.Marshal(w)
	return w
}

// newJob is a job of the workflow in the given status.
func newJob(id, workflowID, slug, status string, stopped *time.Time) circleci.Job {
	j := circleci.Job{
		ID:           id,
		WorkflowID:   workflowID,
		Name:         "test",
		Type:         circleci.JobTypeBuild,
		Status:       status,
		ProjectSlug:  slug,
		JobNumber:    ptr(int64(42)),
		Dependencies: []string{},
		StartedAt:    ptr(base),
		StoppedAt:    stopped,
	}
	j.Raw, _ = json.Marshal(j)
	return j
}

// newUser is a user.
func newUser(id, login string) circleci.User {
	u := circleci.User{ID: id, Login: login, Name: "Name of " + login, AvatarURL: ptr("https://avatars.example/" + login)}
	u.Raw, _ = json.Marshal(u)
	return u
}

// newProject is a project.
func newProject(slug string) circleci.Project {
	p := circleci.Project{
		ID: "id-" + slug, Slug: slug, Name: "repo",
		OrganizationName: "org", OrganizationSlug: "gh/org", OrganizationID: "org-id",
		VCSInfo: circleci.VCSInfo{VCSURL: "https://github.com/org/repo", Provider: "GitHub", DefaultBranch: "main"},
	}
	p.Raw, _ = json.Marshal(p)
	return p
}

// write writes b to st, requiring success.
func write(t testing.TB, st Store, b Batch) WriteStats {
	t.Helper()
	stats, err := st.WriteBatch(context.Background(), b)
	require.NoError(t, err)
	return stats
}

// counts returns st's counts, requiring success.
func counts(t testing.TB, st Store) Counts {
	t.Helper()
	c, err := st.Counts(context.Background())
	require.NoError(t, err)
	return c
}
