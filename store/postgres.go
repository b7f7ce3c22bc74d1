package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgWriteAttempts bounds the runs of a transaction aborted as a deadlock victim.
const pgWriteAttempts = 3

// pgStore is the Store on PostgreSQL, through a pgx pool. WriteBatch sends a Batch as
// one pgx batch in one transaction of fixed unnest upserts, rows in a fixed lock order
// (docs/design.md, "The store").
type pgStore struct {
	queries
	pool *pgxpool.Pool
}

// openPostgres connects to the PostgreSQL database of rawURL and migrates it.
func openPostgres(ctx context.Context, rawURL string) (*pgStore, error) {
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("store: parse PostgreSQL URL %s: %w", RedactURL(rawURL), err)
	}
	params := cfg.ConnConfig.RuntimeParams
	if params["application_name"] == "" {
		params["application_name"] = "circleci-sync"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: connect to PostgreSQL %s: %w", RedactURL(rawURL), err)
	}
	if err := migratePostgres(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: migrate PostgreSQL %s: %w", RedactURL(rawURL), err)
	}
	s := &pgStore{pool: pool}
	s.queries = queries{db: pgConn{pool}, now: time.Now}
	return s, nil
}

// pgStatement is one statement of a WriteBatch.
type pgStatement struct {
	sql  string
	args []any
	// rows is how many rows the statement writes (or deletes, at most).
	rows int
	// what names the statement in errors.
	what string
}

// WriteBatch writes b in one transaction, idempotently and version-guarded (tables.go).
func (s *pgStore) WriteBatch(ctx context.Context, b Batch) (WriteStats, error) {
	plan, err := planBatch(b, s.now())
	if err != nil {
		return WriteStats{}, err
	}
	var stmts []pgStatement
	for _, tr := range plan.upserts {
		// Storable strings first: ids PostgreSQL would store alike fall in different rounds.
		pgFixRows(tr.table, tr.rows)
		for _, round := range rounds(tr.rows, tr.table.keyLen) {
			stmts = append(stmts, pgStatement{
				sql:  pgUpsertSQL(tr.table),
				args: pgColumnArrays(tr.table, round),
				rows: len(round),
				what: "write to " + tr.table.name,
			})
		}
	}
	if len(plan.resolved) > 0 {
		kinds := make([]string, len(plan.resolved))
		ids := make([]string, len(plan.resolved))
		for i, k := range plan.resolved {
			kinds[i], ids[i] = pgText(k[0]), pgText(k[1])
		}
		stmts = append(stmts, pgStatement{
			sql: `DELETE FROM circleci_skipped s USING unnest($1::text[], $2::text[]) AS r (kind, id)
				WHERE s.kind = r.kind AND s.id = r.id`,
			args: []any{kinds, ids},
			rows: len(b.Resolved),
			what: "resolve skipped entities",
		})
	}
	if len(stmts) == 0 {
		return WriteStats{}, nil
	}

	for attempt := 1; ; attempt++ {
		stats, err := s.write(ctx, stmts)
		if err == nil {
			return stats, nil
		}
		if attempt == pgWriteAttempts || !pgRetryable(err) || ctx.Err() != nil {
			return WriteStats{}, err
		}
	}
}

// write runs stmts in one transaction.
func (s *pgStore) write(ctx context.Context, stmts []pgStatement) (WriteStats, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return WriteStats{}, fmt.Errorf("store: begin write: %w", err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()

	batch := &pgx.Batch{}
	for _, st := range stmts {
		batch.Queue(st.sql, st.args...)
	}
	results := tx.SendBatch(ctx, batch)
	var stats WriteStats
	for _, st := range stmts {
		tag, err := results.Exec()
		if err != nil {
			_ = results.Close()
			return WriteStats{}, fmt.Errorf("store: %s (%d rows): %w", st.what, st.rows, err)
		}
		n := int(tag.RowsAffected())
		stats.Written += n
		stats.Unchanged += st.rows - n
	}
	if err := results.Close(); err != nil {
		return WriteStats{}, fmt.Errorf("store: write: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return WriteStats{}, fmt.Errorf("store: commit write: %w", err)
	}
	return stats, nil
}

// pgRetryable reports a deadlock victim or a serialization failure.
func pgRetryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

// pgStatements caches the upsert statement of each table.
var pgStatements sync.Map // *table -> string

// pgUpsertSQL upserts rows into t from one array per column, through unnest.
func pgUpsertSQL(t *table) string {
	if s, ok := pgStatements.Load(t); ok {
		return s.(string)
	}
	names := t.colNames()
	selects := make([]string, len(t.cols))
	arrays := make([]string, len(t.cols))
	for i, c := range t.cols {
		selects[i] = "u." + c.name
		switch c.typ {
		case colText:
			arrays[i] = fmt.Sprintf("$%d::text[]", i+1)
		case colInt:
			arrays[i] = fmt.Sprintf("$%d::bigint[]", i+1)
		case colTime:
			arrays[i] = fmt.Sprintf("$%d::timestamptz[]", i+1)
		case colJSON:
			arrays[i] = fmt.Sprintf("$%d::text[]", i+1)
			selects[i] += "::jsonb"
		case colFloat:
			arrays[i] = fmt.Sprintf("$%d::float8[]", i+1)
		}
	}
	s := fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM unnest(%s) AS u (%s) %s",
		t.name, strings.Join(names, ", "), strings.Join(selects, ", "),
		strings.Join(arrays, ", "), strings.Join(names, ", "), t.onConflict(dialectPostgres))
	pgStatements.Store(t, s)
	return s
}

// pgFixRows makes the strings of rows storable (pgtext.go), in place.
func pgFixRows(t *table, rows [][]any) {
	for c, col := range t.cols {
		fix := pgText
		switch col.typ {
		case colText:
		case colJSON:
			fix = pgJSON
		default:
			continue
		}
		for _, row := range rows {
			if v, ok := row[c].(string); ok {
				row[c] = fix(v)
			}
		}
	}
}

// pgColumnArrays turns rows into the column arrays of pgUpsertSQL.
func pgColumnArrays(t *table, rows [][]any) []any {
	args := make([]any, len(t.cols))
	for c, col := range t.cols {
		switch col.typ {
		case colText, colJSON:
			a := make([]pgtype.Text, len(rows))
			for r, row := range rows {
				if v, ok := row[c].(string); ok {
					a[r] = pgtype.Text{String: v, Valid: true}
				}
			}
			args[c] = a
		case colInt:
			a := make([]pgtype.Int8, len(rows))
			for r, row := range rows {
				if v, ok := row[c].(int64); ok {
					a[r] = pgtype.Int8{Int64: v, Valid: true}
				}
			}
			args[c] = a
		case colFloat:
			a := make([]pgtype.Float8, len(rows))
			for r, row := range rows {
				if v, ok := row[c].(float64); ok {
					a[r] = pgtype.Float8{Float64: v, Valid: true}
				}
			}
			args[c] = a
		case colTime:
			a := make([]pgtype.Timestamptz, len(rows))
			for r, row := range rows {
				if v, ok := row[c].(time.Time); ok {
					a[r] = pgtype.Timestamptz{Time: v, Valid: true}
				}
			}
			args[c] = a
		}
	}
	return args
}

// Close closes the pool.
func (s *pgStore) Close() error {
	s.pool.Close()
	return nil
}

// pgConn is the dbConn of a pgStore.
type pgConn struct{ pool *pgxpool.Pool }

func (c pgConn) dialect() dialect     { return dialectPostgres }
func (c pgConn) text(s string) string { return pgText(s) }

func (c pgConn) query(ctx context.Context, query string, args ...any) (dbRows, error) {
	rows, err := c.pool.Query(ctx, query, pgArgs(args)...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func (c pgConn) exec(ctx context.Context, query string, args ...any) error {
	_, err := c.pool.Exec(ctx, query, pgArgs(args)...)
	return err
}

// pgArgs makes the strings among query arguments storable (pgtext.go).
func pgArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch a := a.(type) {
		case string:
			out[i] = pgText(a)
		case jsonArg:
			out[i] = pgJSON(string(a))
		case []string:
			fixed := make([]string, len(a))
			for j, s := range a {
				fixed[j] = pgText(s)
			}
			out[i] = fixed
		default:
			out[i] = a
		}
	}
	return out
}

var _ Store = (*pgStore)(nil)
