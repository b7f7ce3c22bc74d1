package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/internal/testenv"
)

// backend is a store the tests run on.
type backend struct {
	name string
	// url returns the DATABASE_URL of a fresh, empty database for t.
	url func(t testing.TB) string
}

// backends are the stores every "per backend" scenario runs on. PostgreSQL
// skips without TEST_DATABASE_URL (fails under CI=true).
var backends = []backend{
	{"sqlite", testenv.SQLiteURL},
	{"postgres", testenv.PostgresURL},
}

// row is one entity: key columns (name → value) and its raw JSON, decoded and
// normalised (normJSON).
type row struct {
	cols map[string]string
	raw  any
}

// openDB opens databaseURL for reading with database/sql: SQLite through
// modernc.org/sqlite (read-only, waiting on locks), PostgreSQL through pgx
// (the URL's search_path selects the test's schema).
func openDB(databaseURL string) (*sql.DB, error) {
	if path, ok := strings.CutPrefix(databaseURL, "sqlite://"); ok {
		return sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	}
	return sql.Open("pgx", databaseURL)
}

// compareDB reads the tables of databaseURL and compares them with ex.
func compareDB(ctx context.Context, databaseURL string, ex circlecitest.Expected) (dbReport, error) {
	db, err := openDB(databaseURL)
	if err != nil {
		return dbReport{}, err
	}
	defer db.Close()
	want, err := expectedRows(ex)
	if err != nil {
		return dbReport{}, err
	}
	var rep dbReport
	for _, q := range tableQueries {
		got, err := storedRows(ctx, db, q)
		if err != nil {
			return dbReport{}, err
		}
		rep.Tables = append(rep.Tables, diffRows(q.table, want[q.table], got))
	}
	return rep, nil
}

// tableQuery reads one table: the first column is the key, raw (if any) the last.
type tableQuery struct {
	table  string
	cols   []string // after the key
	hasRaw bool
	sql    string
}

// tableQueries read the data tables and the skipped ledger. raw is read as text
// (JSONB on PostgreSQL).
var tableQueries = []tableQuery{
	{"circleci_projects", nil, true, `SELECT slug, CAST(raw AS TEXT) FROM circleci_projects`},
	{"circleci_pipelines", []string{"project_slug", "state"}, true,
		`SELECT id, project_slug, state, CAST(raw AS TEXT) FROM circleci_pipelines`},
	{"circleci_workflows", []string{"pipeline_id", "project_slug", "status"}, true,
		`SELECT id, pipeline_id, project_slug, status, CAST(raw AS TEXT) FROM circleci_workflows`},
	{"circleci_jobs", []string{"workflow_id", "project_slug", "status"}, true,
		`SELECT workflow_id || '/' || id, workflow_id, project_slug, status, CAST(raw AS TEXT) FROM circleci_jobs`},
	{"circleci_users", []string{"login"}, true, `SELECT id, login, CAST(raw AS TEXT) FROM circleci_users`},
	{"circleci_skipped", []string{"project_slug", "reason", "http_status"}, false,
		`SELECT kind || '/' || id, project_slug, reason, COALESCE(CAST(http_status AS TEXT), '') FROM circleci_skipped`},
}

// storedRows reads one table.
func storedRows(ctx context.Context, db *sql.DB, q tableQuery) (map[string]row, error) {
	rows, err := db.QueryContext(ctx, q.sql)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", q.table, err)
	}
	defer rows.Close()
	out := map[string]row{}
	n := 1 + len(q.cols)
	if q.hasRaw {
		n++
	}
	for rows.Next() {
		vals := make([]sql.NullString, n)
		ptrs := make([]any, n)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("read %s: %w", q.table, err)
		}
		r := row{cols: map[string]string{}}
		for i, c := range q.cols {
			r.cols[c] = vals[1+i].String
		}
		if q.hasRaw {
			if raw := vals[n-1]; raw.Valid {
				var v any
				if err := json.Unmarshal([]byte(raw.String), &v); err != nil {
					r.raw = "invalid JSON: " + raw.String
				} else {
					r.raw = normJSON(v)
				}
			}
		}
		key := vals[0].String
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("%s: key %s stored twice", q.table, key)
		}
		out[key] = r
	}
	return out, rows.Err()
}

// pipelineCounts returns the stored pipelines per project (an error while the
// database is not there yet).
func pipelineCounts(ctx context.Context, db *sql.DB) (map[string]int, error) {
	rows, err := db.QueryContext(ctx, `SELECT project_slug, COUNT(*) FROM circleci_pipelines GROUP BY project_slug`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var slug string
		var n int
		if err := rows.Scan(&slug, &n); err != nil {
			return nil, err
		}
		out[slug] = n
	}
	return out, rows.Err()
}
