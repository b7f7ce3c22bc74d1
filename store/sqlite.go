package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite" // also registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteTimeLayout stores UTC timestamps at fixed width, so text order is time order.
const sqliteTimeLayout = "2006-01-02T15:04:05.000000Z"

// sqliteBusyTimeout is how long a SQLite connection waits for another process's lock,
// and how long openSQLite retries what SQLite fails at once with SQLITE_BUSY.
const sqliteBusyTimeout = 10 * time.Second

// sqliteMaxBackoff caps the pause between two attempts of sqliteRetryBusy.
const sqliteMaxBackoff = 50 * time.Millisecond

// sqliteMaxParams bounds the parameters of one statement (SQLite allows 32766).
const sqliteMaxParams = 30000

// sqliteMaxRows bounds the rows of one multi-row INSERT.
const sqliteMaxRows = 500

// sqliteStore is the Store on SQLite (modernc.org/sqlite): WAL, writes through a
// one-connection pool so that they queue, reads through a read-only pool
// (docs/design.md, "The store").
type sqliteStore struct {
	queries
	path   string
	writer *sql.DB
	reader *sql.DB
	stmts  sqliteStmts
}

// openSQLite opens (creating it if needed) the SQLite database at path, switches it to
// WAL once and migrates it, retrying on SQLITE_BUSY: several processes may open a new
// file at once.
func openSQLite(ctx context.Context, path string) (*sqliteStore, error) {
	memory := path == MemoryPath
	deadline := time.Now().Add(sqliteBusyTimeout)
	if !memory {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("store: SQLite path %s: %w", path, err)
		}
		path = abs
	}
	writer, err := sql.Open("sqlite", sqliteDSN(path, true))
	if err != nil {
		return nil, fmt.Errorf("store: open SQLite %s: %w", path, err)
	}
	// One connection, kept forever: the writer, and for :memory: the database itself.
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	if !memory {
		// The journal mode is persistent; without WAL the file keeps its mode.
		err := sqliteRetryBusy(ctx, deadline, func(ctx context.Context) error {
			var mode string
			return writer.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode)
		})
		if err != nil {
			_ = writer.Close()
			return nil, fmt.Errorf("store: set WAL mode on SQLite %s: %w", path, err)
		}
	}
	if err := sqliteRetryBusy(ctx, deadline, func(ctx context.Context) error {
		return migrateSQLite(ctx, writer)
	}); err != nil {
		_ = writer.Close()
		return nil, fmt.Errorf("store: migrate SQLite %s: %w", path, err)
	}

	reader := writer
	if !memory {
		if reader, err = sql.Open("sqlite", sqliteDSN(path, false)); err != nil {
			_ = writer.Close()
			return nil, fmt.Errorf("store: open SQLite %s: %w", path, err)
		}
		n := max(4, runtime.GOMAXPROCS(0))
		reader.SetMaxOpenConns(n)
		reader.SetMaxIdleConns(n)
		if err := reader.PingContext(ctx); err != nil {
			_ = reader.Close()
			_ = writer.Close()
			return nil, fmt.Errorf("store: open SQLite %s: %w", path, err)
		}
	}
	s := &sqliteStore{path: path, writer: writer, reader: reader}
	s.queries = queries{db: sqliteConn{s}, now: time.Now}
	return s, nil
}

// sqliteRetryBusy runs op until it succeeds or fails otherwise than SQLITE_BUSY or
// SQLITE_LOCKED, with jittered backoff, until deadline or ctx ends. op must be safe to
// repeat.
func sqliteRetryBusy(ctx context.Context, deadline time.Time, op func(context.Context) error) error {
	backoff := time.Millisecond
	for {
		err := op(ctx)
		if err == nil || !isSQLiteBusy(err) {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		}
		pause := backoff/2 + rand.N(backoff/2+1)
		if time.Now().Add(pause).After(deadline) {
			return err
		}
		timer := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		case <-timer.C:
		}
		backoff = min(2*backoff, sqliteMaxBackoff)
	}
}

// isSQLiteBusy reports SQLITE_BUSY or SQLITE_LOCKED: a lock that may soon be released.
func isSQLiteBusy(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return true
	}
	return false
}

// sqliteDSN is the file: URI DSN of path with the connection's pragmas, none of which
// locks the file.
func sqliteDSN(path string, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(sqliteBusyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "foreign_keys(0)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if writer {
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return "file:" + escaped + "?" + q.Encode()
}

// WriteBatch writes b in one transaction, idempotently and version-guarded (tables.go).
func (s *sqliteStore) WriteBatch(ctx context.Context, b Batch) (WriteStats, error) {
	plan, err := planBatch(b, s.now())
	if err != nil {
		return WriteStats{}, err
	}
	if len(plan.upserts) == 0 && len(b.Resolved) == 0 {
		return WriteStats{}, nil
	}
	// Prepared before the transaction takes the writer's one connection.
	execs, err := s.stmts.upserts(ctx, s.writer, plan)
	if err != nil {
		return WriteStats{}, err
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return WriteStats{}, fmt.Errorf("store: begin write: %w", err)
	}
	defer func() { _ = tx.Rollback() }()

	stats, err := sqliteUpsert(ctx, tx, execs)
	if err != nil {
		return WriteStats{}, err
	}
	deleted, err := sqliteResolve(ctx, tx, plan.resolved)
	if err != nil {
		return WriteStats{}, err
	}
	stats.Written += deleted
	stats.Unchanged += len(b.Resolved) - deleted

	if err := tx.Commit(); err != nil {
		return WriteStats{}, fmt.Errorf("store: commit write: %w", err)
	}
	return stats, nil
}

// sqliteResolve deletes the resolved entities from the skipped ledger and returns how
// many rows went.
func sqliteResolve(ctx context.Context, tx *sql.Tx, resolved [][2]string) (int, error) {
	deleted := 0
	var args []any
	for len(resolved) > 0 {
		chunk := resolved[:min(len(resolved), sqliteMaxRows)]
		resolved = resolved[len(chunk):]
		args = args[:0]
		for _, k := range chunk {
			args = append(args, k[0], k[1])
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM circleci_skipped WHERE (kind, id) IN (VALUES `+
			strings.Repeat("(?, ?), ", len(chunk)-1)+`(?, ?))`, args...)
		if err != nil {
			return 0, fmt.Errorf("store: resolve %d skipped entities: %w", len(chunk), err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("store: resolve %d skipped entities: %w", len(chunk), err)
		}
		deleted += int(n)
	}
	return deleted, nil
}

// sqliteValue converts a row value to what the SQLite column stores.
func sqliteValue(v any) any {
	if t, ok := v.(time.Time); ok {
		return formatSQLiteTime(t)
	}
	return v
}

// formatSQLiteTime formats t as SQLite stores it.
func formatSQLiteTime(t time.Time) string {
	return t.UTC().Truncate(timePrecision).Format(sqliteTimeLayout)
}

// parseSQLiteTime parses a stored SQLite time (or any RFC 3339 time) into UTC.
func parseSQLiteTime(s string) (time.Time, error) {
	t, err := time.Parse(sqliteTimeLayout, s)
	if err != nil {
		if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return time.Time{}, fmt.Errorf("parse stored time %q: %w", s, err)
		}
	}
	return t.UTC(), nil
}

// Close closes the database.
func (s *sqliteStore) Close() error {
	errs := []error{s.stmts.close()}
	if s.reader != s.writer {
		errs = append(errs, s.reader.Close())
	}
	errs = append(errs, s.writer.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: close SQLite %s: %w", s.path, err)
	}
	return nil
}

// sqliteConn is a sqliteStore's dbConn: reads on the reader, writes on the writer.
type sqliteConn struct{ s *sqliteStore }

func (c sqliteConn) dialect() dialect     { return dialectSQLite }
func (c sqliteConn) text(s string) string { return s }

func (c sqliteConn) query(ctx context.Context, query string, args ...any) (dbRows, error) {
	rows, err := c.s.reader.QueryContext(ctx, query, sqliteArgs(args)...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (c sqliteConn) exec(ctx context.Context, query string, args ...any) error {
	_, err := c.s.writer.ExecContext(ctx, query, sqliteArgs(args)...)
	return err
}

// sqliteArgs converts query arguments to what SQLite stores.
func sqliteArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch a := a.(type) {
		case time.Time:
			out[i] = formatSQLiteTime(a)
		case jsonArg:
			out[i] = string(a)
		default:
			out[i] = a
		}
	}
	return out
}

// sqlRows adapts sql.Rows to dbRows.
type sqlRows struct{ *sql.Rows }

// Close closes the rows; the errors that matter are reported by Err.
func (r sqlRows) Close() { _ = r.Rows.Close() }

var _ Store = (*sqliteStore)(nil)
