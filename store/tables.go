package store

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// This file describes the data tables that WriteBatch upserts, and builds the upsert
// SQL both dialects share: the ON CONFLICT clause with its version guard. The two
// implementations differ only in how rows reach the INSERT (multi-row VALUES for
// SQLite, unnest of column arrays for PostgreSQL).

// colType is how a column's values are represented in rows and stored.
type colType uint8

const (
	// colText is a string (TEXT): nil or string.
	colText colType = iota
	// colInt is an integer (INTEGER / BIGINT): nil or int64.
	colInt
	// colTime is a timestamp (fixed-width UTC TEXT / TIMESTAMPTZ): nil or a UTC
	// time.Time truncated to microseconds.
	colTime
	// colJSON is a JSON document (TEXT / JSONB): nil or a string holding valid JSON.
	colJSON
	// colFloat is a number (REAL / DOUBLE PRECISION): nil or float64.
	colFloat
)

// column is one column a table write sets.
type column struct {
	name string
	typ  colType
}

// table describes one upserted table.
type table struct {
	name string
	// cols are the columns an upsert sets, in row order. The key columns come first.
	cols []column
	// keyLen is how many leading columns form the conflict key.
	keyLen int
	// stamp is the column recording when the row was written (synced_at, fetched_at,
	// last_seen). It is updated with the row but never compared.
	stamp string
	// keep lists columns an update leaves as they are (first_seen).
	keep []string
	// guard, if set, is an SQL condition on the stored row (named by the table) and
	// the incoming one (excluded) that must hold for the update to happen.
	guard string
	// skipIdentical makes an update happen only when a column other than the key and
	// stamp differs, so that rewriting unchanged data changes nothing (and counts as
	// Unchanged).
	skipIdentical bool
}

// dialect is an SQL dialect the stores speak.
type dialect uint8

const (
	dialectSQLite dialect = iota
	dialectPostgres
)

// distinctOp is the null-safe inequality operator of the dialect.
func (d dialect) distinctOp() string {
	if d == dialectPostgres {
		return "IS DISTINCT FROM"
	}
	return "IS NOT"
}

// skippedTable is the ledger of entities a sync went without: every write updates the
// entry but keeps its first_seen. Each kind's table is declared in the kind's file,
// with its row builder, in column order (checked by TestRowShapes).
var skippedTable = &table{
	name: SkippedTable,
	cols: []column{
		{"kind", colText}, {"id", colText}, {"project_slug", colText}, {"reason", colText},
		{"http_status", colInt}, {"message", colText},
		{"first_seen", colTime}, {"last_seen", colTime},
	},
	keyLen: 2,
	stamp:  "last_seen",
	keep:   []string{"first_seen"},
}

// EntityKind is one kind of CircleCI entity the store holds: the one declaration
// that writes, counts, metrics and summaries iterate.
type EntityKind struct {
	// Name is the kind (KindPipeline...): the skipped ledger's kind, a metric label,
	// the key of counts by kind.
	Name string
	// Plural names the kind's count in run figures and summaries ("pipelines").
	Plural string
	// OptIn kinds are fetched only when a sync's input includes them: summaries and
	// counts leave them out while they are zero.
	OptIn bool
	table *table
	count func(Batch) int
	rows  func(Batch, time.Time) ([][]any, error)
}

// Table is the name of the kind's table.
func (k EntityKind) Table() string { return k.table.name }

// kindOf declares a kind whose items are the Batch field named field (items reads it)
// and whose rows row builds.
func kindOf[T any](name, plural string, t *table, field string, items func(Batch) []T,
	row func(T, time.Time) ([]any, error)) EntityKind {
	return EntityKind{Name: name, Plural: plural, table: t,
		count: func(b Batch) int { return len(items(b)) },
		rows:  func(b Batch, now time.Time) ([][]any, error) { return buildRows(items(b), field, now, row) },
	}
}

// optIn marks k as fetched only on request (EntityKind.OptIn).
func optIn(k EntityKind) EntityKind {
	k.OptIn = true
	return k
}

// SkippedTable is the name of the skipped ledger's table.
const SkippedTable = "circleci_skipped"

// Entities returns how many entities of each kind b holds, by kind name; kinds
// with none are left out.
func (b Batch) Entities() map[string]int {
	out := map[string]int{}
	for _, k := range EntityKinds {
		if n := k.count(b); n > 0 {
			out[k.Name] = n
		}
	}
	return out
}

// terminalGuard is the version guard of workflows and jobs. An incoming snapshot
// replaces the stored row unless
//
//   - the stored status is terminal and the incoming one is not (a late or retried
//     write of an older, running snapshot), or
//   - the stored stopped_at is set and the incoming one is null or earlier.
//
// Unknown statuses are not in terminalSQL, so they count as not terminal, as in Go.
func terminalGuard(tbl, terminalSQL string) string {
	return finalGuard(tbl, "status", terminalSQL) + " AND " + notEarlierGuard(tbl, "stopped_at")
}

// pipelineGuard is the version guard of pipelines. An incoming snapshot replaces the
// stored row unless
//
//   - the stored state is final (created, errored) and the incoming one is not (a
//     late or retried write of an older snapshot, still setting up or pending, that
//     the updated_at rule alone lets through when it carries the same updated_at, or
//     when the stored row has none), or
//   - the stored updated_at is set and the incoming one is null or earlier.
//
// Unknown states are not in finalPipelineSQL, so they count as not final (see
// statuses.go): any snapshot may replace them, and they never replace a final state.
func pipelineGuard(tbl string) string {
	return finalGuard(tbl, "state", finalPipelineSQL) + " AND " + notEarlierGuard(tbl, "updated_at")
}

// finalGuard holds unless the stored col is in finalSQL (an SQL list of values) and
// the incoming one is not: a final status or state is only replaced by a final one.
// col must be NOT NULL.
func finalGuard(tbl, col, finalSQL string) string {
	return fmt.Sprintf("NOT (%[1]s.%[2]s IN %[3]s AND excluded.%[2]s NOT IN %[3]s)", tbl, col, finalSQL)
}

// notEarlierGuard holds unless the stored col is set and the incoming one is null or
// earlier. Both dialects compare timestamps correctly with <= (PostgreSQL natively,
// SQLite lexically on the fixed-width UTC text).
func notEarlierGuard(tbl, col string) string {
	return fmt.Sprintf("(%[1]s.%[2]s IS NULL OR (excluded.%[2]s IS NOT NULL AND %[1]s.%[2]s <= excluded.%[2]s))",
		tbl, col)
}

// colNames returns the names of the table's columns.
func (t *table) colNames() []string {
	names := make([]string, len(t.cols))
	for i, c := range t.cols {
		names[i] = c.name
	}
	return names
}

// onConflict renders the table's ON CONFLICT clause in dialect d: update every
// non-key column (except keep) from the incoming row, provided the guard holds and,
// with skipIdentical, some compared column differs.
func (t *table) onConflict(d dialect) string {
	var b strings.Builder
	b.WriteString("ON CONFLICT (")
	b.WriteString(strings.Join(t.colNames()[:t.keyLen], ", "))
	b.WriteString(") DO UPDATE SET ")
	var compared []string
	first := true
	for _, c := range t.cols[t.keyLen:] {
		if slices.Contains(t.keep, c.name) {
			continue
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		fmt.Fprintf(&b, "%[1]s = excluded.%[1]s", c.name)
		if c.name != t.stamp {
			compared = append(compared, c.name)
		}
	}
	var conds []string
	if t.guard != "" {
		conds = append(conds, t.guard)
	}
	if t.skipIdentical && len(compared) > 0 {
		stored := make([]string, len(compared))
		incoming := make([]string, len(compared))
		for i, c := range compared {
			stored[i] = t.name + "." + c
			incoming[i] = "excluded." + c
		}
		conds = append(conds, fmt.Sprintf("(%s) %s (%s)",
			strings.Join(stored, ", "), d.distinctOp(), strings.Join(incoming, ", ")))
	}
	if len(conds) > 0 {
		b.WriteString(" WHERE ")
		b.WriteString(strings.Join(conds, " AND "))
	}
	return b.String()
}
