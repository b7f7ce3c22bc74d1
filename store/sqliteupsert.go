package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"sync"
)

// sqliteExec is one upsert statement of a write: rows into table t through stmt.
type sqliteExec struct {
	t    *table
	stmt *sql.Stmt
	rows [][]any
}

// sqliteStmts caches a store's prepared upsert statements by table and row count.
// SQLite parses a multi-row upsert about as long as it runs it, so each shape is
// prepared once on the writer's connection rather than on every execution; row
// counts are powers of two so that a table has about nine shapes.
type sqliteStmts struct {
	mu    sync.Mutex
	stmts map[sqliteStmtKey]*sql.Stmt
}

// sqliteStmtKey identifies a prepared upsert statement.
type sqliteStmtKey struct {
	table *table
	rows  int
}

// upserts splits the plan's rows, round by round, into statements of at most
// sqliteMaxRows rows and sqliteMaxParams parameters, preparing the shapes not yet in
// c on db. Call it outside a transaction on db: the writer has one connection.
func (c *sqliteStmts) upserts(ctx context.Context, db *sql.DB, plan writePlan) ([]sqliteExec, error) {
	var execs []sqliteExec
	for _, tr := range plan.upserts {
		t := tr.table
		perStmt := min(sqliteMaxRows, sqliteMaxParams/len(t.cols))
		largest := 1 << (bits.Len(uint(perStmt)) - 1)
		for _, round := range rounds(tr.rows, t.keyLen) {
			for len(round) > 0 {
				n := 1 << (bits.Len(uint(min(len(round), largest))) - 1)
				stmt, err := c.prepared(ctx, db, sqliteStmtKey{t, n})
				if err != nil {
					return nil, err
				}
				execs = append(execs, sqliteExec{t: t, stmt: stmt, rows: round[:n]})
				round = round[n:]
			}
		}
	}
	return execs, nil
}

// prepared returns the statement of key, preparing it on db the first time.
func (c *sqliteStmts) prepared(ctx context.Context, db *sql.DB, key sqliteStmtKey) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.stmts[key]; ok {
		return s, nil
	}
	s, err := db.PrepareContext(ctx, sqliteUpsertSQL(key.table, key.rows))
	if err != nil {
		return nil, fmt.Errorf("store: prepare the upsert of %d rows into %s: %w", key.rows, key.table.name, err)
	}
	if c.stmts == nil {
		c.stmts = make(map[sqliteStmtKey]*sql.Stmt)
	}
	c.stmts[key] = s
	return s, nil
}

// close closes the cached statements.
func (c *sqliteStmts) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for key, s := range c.stmts {
		errs = append(errs, s.Close())
		delete(c.stmts, key)
	}
	return errors.Join(errs...)
}

// sqliteUpsert runs execs in tx, each through the transaction's use of its prepared
// statement.
func sqliteUpsert(ctx context.Context, tx *sql.Tx, execs []sqliteExec) (WriteStats, error) {
	var stats WriteStats
	var args []any
	for _, e := range execs {
		args = args[:0]
		for _, row := range e.rows {
			for _, v := range row {
				args = append(args, sqliteValue(v))
			}
		}
		stmt := tx.StmtContext(ctx, e.stmt)
		res, err := stmt.ExecContext(ctx, args...)
		_ = stmt.Close() // the transaction's handle; e.stmt stays prepared
		if err != nil {
			return WriteStats{}, fmt.Errorf("store: write %d rows to %s: %w", len(e.rows), e.t.name, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return WriteStats{}, fmt.Errorf("store: write %d rows to %s: %w", len(e.rows), e.t.name, err)
		}
		stats.Written += int(n)
		stats.Unchanged += len(e.rows) - int(n)
	}
	return stats, nil
}

// sqliteUpsertSQL upserts n rows into t: a multi-row VALUES with t's ON CONFLICT.
func sqliteUpsertSQL(t *table, n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(t.name)
	b.WriteString(" (")
	b.WriteString(strings.Join(t.colNames(), ", "))
	b.WriteString(") VALUES ")
	// Anonymous ? placeholders: SQLite looks $N up linearly, quadratic over thousands.
	row := "(" + strings.Repeat("?, ", len(t.cols)-1) + "?)"
	for r := 0; r < n; r++ {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteByte(' ')
	b.WriteString(t.onConflict(dialectSQLite))
	return b.String()
}
