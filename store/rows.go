package store

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// ErrInvalidItem is returned (wrapped) by WriteBatch for an item it cannot store (no
// id, a job without WorkflowID, Raw not JSON, a time out of range): nothing is written.
var ErrInvalidItem = errors.New("store: invalid item")

// timePrecision is PostgreSQL's, used by SQLite too so that both return the same instants.
const timePrecision = time.Microsecond

// writePlan is a validated Batch turned into table rows.
type writePlan struct {
	upserts []tableRows
	// resolved are the (kind, id) keys to delete from the skipped ledger.
	resolved [][2]string
}

// tableRows are rows to upsert into one table, each in the table's column order.
type tableRows struct {
	table *table
	rows  [][]any
}

// planBatch validates b and converts it to rows stamped now (ErrInvalidItem on a bad item).
func planBatch(b Batch, now time.Time) (writePlan, error) {
	now = now.UTC().Truncate(timePrecision)
	var p writePlan
	add := func(t *table, rows [][]any) {
		if len(rows) > 0 {
			p.upserts = append(p.upserts, tableRows{table: t, rows: rows})
		}
	}

	for _, k := range EntityKinds {
		rows, err := k.rows(b, now)
		if err != nil {
			return writePlan{}, err
		}
		add(k.table, rows)
	}
	rows, err := buildRows(b.Skipped, "Skipped", now, skippedRow)
	if err != nil {
		return writePlan{}, err
	}
	add(skippedTable, rows)
	if rows, err = buildRows(b.JobTests, "JobTests", now, jobTestsRow); err != nil {
		return writePlan{}, err
	}
	add(jobTestsTable, rows)

	for i, r := range b.Resolved {
		if r.Kind == "" || r.ID == "" {
			return writePlan{}, fmt.Errorf("%w: Resolved[%d] (kind %q, id %q): empty kind or id", ErrInvalidItem, i, r.Kind, r.ID)
		}
		p.resolved = append(p.resolved, [2]string{r.Kind, r.ID})
	}
	slices.SortFunc(p.resolved, compareKeys)
	p.resolved = slices.Compact(p.resolved)
	return p, nil
}

// buildRows converts items with row, naming a failing item by field[index] and id.
func buildRows[T any](items []T, field string, now time.Time, row func(T, time.Time) ([]any, error)) ([][]any, error) {
	if len(items) == 0 {
		return nil, nil
	}
	rows := make([][]any, 0, len(items))
	for i, it := range items {
		r, err := row(it, now)
		if err != nil {
			return nil, fmt.Errorf("%w: %s[%d]: %w", ErrInvalidItem, field, i, err)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// rounds splits rows so that each key occurs once a round, applying one entity's
// snapshots in Batch order (PostgreSQL refuses to upsert a row twice in a statement);
// each round is sorted by key.
func rounds(rows [][]any, keyLen int) [][][]any {
	seen := make(map[rowKeyT]int, len(rows))
	var out [][][]any
	for _, r := range rows {
		k := rowKey(r, keyLen)
		n := seen[k]
		seen[k] = n + 1
		if n == len(out) {
			out = append(out, nil)
		}
		out[n] = append(out[n], r)
	}
	for _, round := range out {
		slices.SortFunc(round, func(a, b []any) int {
			return compareRowKeys(rowKey(a, keyLen), rowKey(b, keyLen))
		})
	}
	return out
}

// rowKeyT is the key of a row: up to three text or integer columns.
type rowKeyT [3]any

// rowKey returns the key of a row: its first keyLen (1 to 3) columns, each a string
// or an int64.
func rowKey(r []any, keyLen int) rowKeyT {
	var k rowKeyT
	copy(k[:], r[:keyLen])
	return k
}

// compareRowKeys orders row keys column by column (strings bytewise, integers by
// value; a column holds one type).
func compareRowKeys(a, b rowKeyT) int {
	for i := range a {
		var c int
		switch x := a[i].(type) {
		case string:
			c = cmp.Compare(x, b[i].(string))
		case int64:
			c = cmp.Compare(x, b[i].(int64))
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// compareKeys orders keys bytewise.
func compareKeys(a, b [2]string) int {
	return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
}

// skippedRow is s's circleci_skipped row (the upsert keeps the stored first_seen).
func skippedRow(s Skipped, now time.Time) ([]any, error) {
	if s.Kind == "" || s.ID == "" {
		return nil, fmt.Errorf("skipped (kind %q, id %q): empty kind or id", s.Kind, s.ID)
	}
	var status any
	if s.HTTPStatus != 0 {
		status = int64(s.HTTPStatus)
	}
	return []any{s.Kind, s.ID, s.ProjectSlug, s.Reason, status, s.Message, now, now}, nil
}

// optString is the column value of an optional string: nil or the string.
func optString(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// optInt is the column value of an optional integer: nil or the int64.
func optInt(n *int64) any {
	if n == nil {
		return nil
	}
	return *n
}

// timeValue is t's column value: nil when zero, else UTC at timePrecision, years 1-9999.
func timeValue(t time.Time, name string) (any, error) {
	if t.IsZero() {
		return nil, nil
	}
	t = t.UTC().Truncate(timePrecision)
	if y := t.Year(); y < 1 || y > 9999 {
		return nil, fmt.Errorf("%s %s: year outside 1-9999", name, t.Format(time.RFC3339))
	}
	return t, nil
}

// timePtrValue is timeValue of an optional time.
func timePtrValue(t *time.Time, name string) (any, error) {
	if t == nil {
		return nil, nil
	}
	return timeValue(*t, name)
}

// rawJSON is an item's raw JSON column value: nil when absent; invalid JSON is refused.
func rawJSON(raw json.RawMessage) (any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	if !json.Valid(raw) {
		return nil, errors.New("raw is not valid JSON")
	}
	return string(raw), nil
}

// jsonValue is the column value of v encoded as JSON.
func jsonValue(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode JSON: %w", err)
	}
	return string(b), nil
}
