package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
)

// tableDiff is the comparison of one table with what it should hold.
type tableDiff struct {
	Table      string
	Expected   int // rows expected
	Stored     int // rows stored
	Missing    int // expected, not stored
	Extra      int // stored, not expected
	Mismatched int // stored and expected, but different
	Examples   []string
}

func (d tableDiff) clean() bool { return d.Missing == 0 && d.Extra == 0 && d.Mismatched == 0 }

func (d tableDiff) String() string {
	return fmt.Sprintf("%-20s expected %5d stored %5d compared %5d missing %d extra %d mismatched %d",
		d.Table, d.Expected, d.Stored, d.Expected-d.Missing, d.Missing, d.Extra, d.Mismatched)
}

// dbReport compares every data table and the skipped ledger with an Expected.
type dbReport struct{ Tables []tableDiff }

func (r dbReport) clean() bool {
	for _, d := range r.Tables {
		if !d.clean() {
			return false
		}
	}
	return true
}

// compared is the number of expected rows found and compared.
func (r dbReport) compared() int {
	n := 0
	for _, d := range r.Tables {
		n += d.Expected - d.Missing
	}
	return n
}

func (r dbReport) String() string {
	var b strings.Builder
	for _, d := range r.Tables {
		b.WriteString(d.String())
		b.WriteByte('\n')
		for _, e := range d.Examples {
			b.WriteString("    " + e + "\n")
		}
	}
	return b.String()
}

// diffRows compares a table's stored rows with the expected ones.
func diffRows(table string, want, got map[string]row) tableDiff {
	d := tableDiff{Table: table, Expected: len(want), Stored: len(got)}
	example := func(format string, args ...any) {
		if len(d.Examples) < 5 {
			d.Examples = append(d.Examples, fmt.Sprintf(format, args...))
		}
	}
	for _, k := range sortedKeys(want) {
		w := want[k]
		g, ok := got[k]
		if !ok {
			d.Missing++
			example("missing %s", k)
			continue
		}
		var diffs []string
		for _, c := range sortedKeys(w.cols) {
			if w.cols[c] != g.cols[c] {
				diffs = append(diffs, fmt.Sprintf("%s: stored %q, want %q", c, g.cols[c], w.cols[c]))
			}
		}
		if w.raw != nil && !reflect.DeepEqual(w.raw, g.raw) {
			diffs = append(diffs, "raw: "+jsonDiff(w.raw, g.raw))
		}
		if len(diffs) > 0 {
			d.Mismatched++
			example("mismatched %s: %s", k, strings.Join(diffs, "; "))
		}
	}
	for _, k := range sortedKeys(got) {
		if _, ok := want[k]; !ok {
			d.Extra++
			example("extra %s", k)
		}
	}
	return d
}

// jsonDiff describes how two decoded JSON values differ, briefly.
func jsonDiff(want, got any) string {
	wm, ok1 := want.(map[string]any)
	gm, ok2 := got.(map[string]any)
	if !ok1 || !ok2 {
		return fmt.Sprintf("stored %.200v, want %.200v", got, want)
	}
	var parts []string
	keys := map[string]bool{}
	for k := range wm {
		keys[k] = true
	}
	for k := range gm {
		keys[k] = true
	}
	for _, k := range sortedKeys(keys) {
		wv, inW := wm[k]
		gv, inG := gm[k]
		switch {
		case !inG:
			parts = append(parts, fmt.Sprintf("%s missing", k))
		case !inW:
			parts = append(parts, fmt.Sprintf("%s extra (%.80v)", k, gv))
		case !reflect.DeepEqual(wv, gv):
			parts = append(parts, fmt.Sprintf("%s: stored %.120v, want %.120v", k, gv, wv))
		}
	}
	return strings.Join(parts, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// requireTablesEqual compares the tables of databaseURL with ex, logs the
// figures and fails t on any difference.
func requireTablesEqual(t *testing.T, databaseURL string, ex circlecitest.Expected) dbReport {
	t.Helper()
	rep, err := compareDB(context.Background(), databaseURL, ex)
	if err != nil {
		t.Fatalf("compare the tables: %v", err)
	}
	missing, extra, mismatched := 0, 0, 0
	for _, d := range rep.Tables {
		missing += d.Missing
		extra += d.Extra
		mismatched += d.Mismatched
	}
	t.Logf("tables vs Expected: %d rows compared, %d missing, %d extra, %d mismatched\n%s",
		rep.compared(), missing, extra, mismatched, rep)
	if !rep.clean() {
		t.Fatalf("the tables differ from the fake's Expected (see above)")
	}
	return rep
}

// requireComparisonDetectsChanges changes tables that equal ex and checks that
// compareDB reports each change: a pipeline's raw created_at moved by one
// millisecond, a job's status column, a deleted workflow and an extra skipped
// entry. It shows that the comparison the other tests rely on can fail.
func requireComparisonDetectsChanges(t *testing.T, databaseURL string, ex circlecitest.Expected) {
	t.Helper()
	ctx := context.Background()
	var db *sql.DB
	var err error
	if path, ok := strings.CutPrefix(databaseURL, "sqlite://"); ok {
		db, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	} else {
		db, err = sql.Open("pgx", databaseURL)
	}
	if err != nil {
		t.Fatalf("open the database: %v", err)
	}
	defer db.Close()
	p, w, j := ex.Pipelines[0], ex.Workflows[0], ex.Jobs[0]
	var raw string
	if err := db.QueryRowContext(ctx, `SELECT CAST(raw AS TEXT) FROM circleci_pipelines WHERE id = $1`, p.ID).Scan(&raw); err != nil {
		t.Fatalf("read a pipeline: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("pipeline raw: %v", err)
	}
	m["created_at"] = p.CreatedAt.Add(time.Millisecond).UTC().Format("2006-01-02T15:04:05.000Z")
	changed, _ := json.Marshal(m)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE circleci_pipelines SET raw = $1 WHERE id = $2`, []any{string(changed), p.ID}},
		{`UPDATE circleci_jobs SET status = 'e2e-changed' WHERE workflow_id = $1 AND id = $2`, []any{j.WorkflowID, j.ID}},
		{`DELETE FROM circleci_workflows WHERE id = $1`, []any{w.ID}},
		{`INSERT INTO circleci_skipped (kind, id, project_slug, reason, http_status, message, first_seen, last_seen)
		  VALUES ('user', 'e2e-extra', '', 'not_found', 404, '', $1, $1)`, []any{"2026-01-01T00:00:00.000000Z"}},
	} {
		if _, err := db.ExecContext(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	rep, err := compareDB(ctx, databaseURL, ex)
	if err != nil {
		t.Fatalf("compare: %v", err)
	}
	t.Logf("after the changes:\n%s", rep)
	want := map[string][3]int{ // missing, extra, mismatched
		"circleci_pipelines": {0, 0, 1},
		"circleci_jobs":      {0, 0, 1},
		"circleci_workflows": {1, 0, 0},
		"circleci_skipped":   {0, 1, 0},
	}
	for _, d := range rep.Tables {
		if got := [3]int{d.Missing, d.Extra, d.Mismatched}; got != want[d.Table] {
			t.Errorf("%s: missing, extra, mismatched = %v, want %v", d.Table, got, want[d.Table])
		}
	}
}
