package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The Store methods other than WriteBatch and Close, once for both databases over
// dbConn: both take $N placeholders and scan into the same destinations.

// dbConn is what the shared queries need of a database.
type dbConn interface {
	dialect() dialect
	// query runs a read-only query.
	query(ctx context.Context, sql string, args ...any) (dbRows, error)
	// exec runs a write, in its own transaction.
	exec(ctx context.Context, sql string, args ...any) error
	// text returns s as the database stores it (see pgtext.go; s itself on SQLite).
	text(s string) string
}

// dbRows is a query's result, as both sql.Rows and pgx.Rows provide it.
type dbRows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// jsonArg marks a query argument holding JSON text for a JSON column.
type jsonArg string

// queries implements the shared Store methods.
type queries struct {
	db dbConn
	// now is the clock stamping writes (a field so that tests can set it).
	now func() time.Time
}

// listChunk bounds the values one SQLite query binds for an id list (SQLite looks $N up
// linearly); PostgreSQL binds the whole list as one array.
const listChunk = 500

// inList returns the condition "col is one of values" from placeholder $first, and its arguments.
func (q *queries) inList(col string, first int, values []string) (string, []any) {
	if q.db.dialect() == dialectPostgres {
		return fmt.Sprintf("%s = ANY($%d)", col, first), []any{values}
	}
	ph := make([]string, len(values))
	args := make([]any, len(values))
	for i, v := range values {
		ph[i] = "$" + strconv.Itoa(first+i)
		args[i] = v
	}
	return col + " IN (" + strings.Join(ph, ", ") + ")", args
}

// chunks splits values into lists that inList can bind.
func (q *queries) chunks(values []string) [][]string {
	if q.db.dialect() == dialectPostgres {
		return [][]string{values}
	}
	return slices.Collect(slices.Chunk(values, listChunk))
}

// jsonParam is the placeholder $n of a JSON column's value.
func (q *queries) jsonParam(n int) string {
	if q.db.dialect() == dialectPostgres {
		return fmt.Sprintf("$%d::text::jsonb", n)
	}
	return "$" + strconv.Itoa(n)
}

// queryRow scans at most one row into dest and reports whether there was one.
func (q *queries) queryRow(ctx context.Context, dest []any, query string, args ...any) (bool, error) {
	rows, err := q.db.query(ctx, query, args...)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	if !rows.Next() {
		return false, rows.Err()
	}
	if err := rows.Scan(dest...); err != nil {
		return false, err
	}
	return true, rows.Err()
}

// queryStrings runs a query returning one text column and appends its values to out.
func (q *queries) queryStrings(ctx context.Context, out []string, query string, args ...any) ([]string, error) {
	rows, err := q.db.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// ProjectState returns a project's stored state, or a zero state with its ids.
func (q *queries) ProjectState(ctx context.Context, connectionID, projectSlug string) (ProjectState, error) {
	st := ProjectState{ConnectionID: connectionID, ProjectSlug: projectSlug}
	var watermark, lastRunAt, repairedAt, namesAt scanTime
	var lastRun, names sql.NullString
	found, err := q.queryRow(ctx, []any{&watermark, &lastRunAt, &lastRun, &repairedAt, &names, &namesAt},
		`SELECT watermark, last_run_at, last_run, repaired_at, insights_names, insights_names_at
		FROM circleci_sync_projects WHERE connection_id = $1 AND project_slug = $2`,
		connectionID, projectSlug)
	if err == nil && found {
		st.Watermark, st.LastRunAt, st.RepairedAt, st.InsightsNamesAt = watermark.t, lastRunAt.t, repairedAt.t, namesAt.t
		st.LastRun, err = decodeLastRun(lastRun)
	}
	if err == nil && names.Valid {
		err = json.Unmarshal([]byte(names.String), &st.InsightsNames)
	}
	if err != nil {
		return ProjectState{}, fmt.Errorf("store: read state of project %q (connection %q): %w", projectSlug, connectionID, err)
	}
	return st, nil
}

// SaveProjectState stores s, replacing what was there (UTC, microseconds).
func (q *queries) SaveProjectState(ctx context.Context, s ProjectState) error {
	if s.ConnectionID == "" || s.ProjectSlug == "" {
		return fmt.Errorf("%w: project state (connection %q, project %q): empty connection id or project slug",
			ErrInvalidItem, s.ConnectionID, s.ProjectSlug)
	}
	lastRun, err := jsonArgOf(s.LastRun, s.LastRun == nil)
	var names any
	if err == nil {
		names, err = jsonArgOf(s.InsightsNames, s.InsightsNames == nil)
	}
	if err == nil {
		err = q.db.exec(ctx, `INSERT INTO circleci_sync_projects
			(connection_id, project_slug, watermark, last_run_at, last_run, updated_at, repaired_at, insights_names,
			insights_names_at)
			VALUES ($1, $2, $3, $4, `+q.jsonParam(5)+`, $6, $7, `+q.jsonParam(8)+`, $9)
			ON CONFLICT (connection_id, project_slug) DO UPDATE SET
				watermark = excluded.watermark, last_run_at = excluded.last_run_at,
				last_run = excluded.last_run, updated_at = excluded.updated_at, repaired_at = excluded.repaired_at,
				insights_names = excluded.insights_names, insights_names_at = excluded.insights_names_at`,
			s.ConnectionID, s.ProjectSlug, timeArg(s.Watermark), timeArg(s.LastRunAt), lastRun, timeArg(q.now()),
			timeArg(s.RepairedAt), names, timeArg(s.InsightsNamesAt))
	}
	if err != nil {
		return fmt.Errorf("store: save state of project %q (connection %q): %w", s.ProjectSlug, s.ConnectionID, err)
	}
	return nil
}

// connectionColumns are the columns scanConnection reads, in its order.
const connectionColumns = `connection_id, org_slug, base_url, projects, last_run_at, last_run,
	verified_at, discovered_at, discovery_watermark, followed_at`

// scanConnection scans a row of connectionColumns.
func scanConnection(scan func(dest ...any) error) (ConnectionState, error) {
	var st ConnectionState
	var lastRunAt, verifiedAt, discoveredAt, discoveryWatermark, followedAt scanTime
	var projects, lastRun sql.NullString
	if err := scan(&st.ConnectionID, &st.OrgSlug, &st.BaseURL, &projects, &lastRunAt, &lastRun,
		&verifiedAt, &discoveredAt, &discoveryWatermark, &followedAt); err != nil {
		return ConnectionState{}, err
	}
	st.LastRunAt = lastRunAt.t
	st.VerifiedAt, st.DiscoveredAt, st.DiscoveryWatermark = verifiedAt.t, discoveredAt.t, discoveryWatermark.t
	st.FollowedAt = followedAt.t
	if projects.Valid {
		if err := json.Unmarshal([]byte(projects.String), &st.Projects); err != nil {
			return ConnectionState{}, fmt.Errorf("decode projects: %w", err)
		}
	}
	var err error
	st.LastRun, err = decodeLastRun(lastRun)
	if err != nil {
		return ConnectionState{}, err
	}
	return st, nil
}

// ConnectionState returns a connection's stored state, or a zero state with its id.
func (q *queries) ConnectionState(ctx context.Context, connectionID string) (ConnectionState, error) {
	st, err := q.connectionState(ctx, connectionID)
	if err != nil {
		return ConnectionState{}, fmt.Errorf("store: read state of connection %q: %w", connectionID, err)
	}
	return st, nil
}

// connectionState is ConnectionState without the error context.
func (q *queries) connectionState(ctx context.Context, connectionID string) (ConnectionState, error) {
	rows, err := q.db.query(ctx, `SELECT `+connectionColumns+` FROM circleci_sync_connections
		WHERE connection_id = $1`, connectionID)
	if err != nil {
		return ConnectionState{}, err
	}
	defer rows.Close()
	if !rows.Next() {
		return ConnectionState{ConnectionID: connectionID}, rows.Err()
	}
	st, err := scanConnection(rows.Scan)
	if err != nil {
		return ConnectionState{}, err
	}
	// The id as asked (the stored one differs for a string PostgreSQL cannot store).
	st.ConnectionID = connectionID
	return st, rows.Err()
}

// ConnectionStates lists every connection's stored state, by connection id.
func (q *queries) ConnectionStates(ctx context.Context) ([]ConnectionState, error) {
	rows, err := q.db.query(ctx, `SELECT `+connectionColumns+` FROM circleci_sync_connections`)
	if err != nil {
		return nil, fmt.Errorf("store: list connection states: %w", err)
	}
	defer rows.Close()
	var out []ConnectionState
	for rows.Next() {
		st, err := scanConnection(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("store: list connection states: %w", err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list connection states: %w", err)
	}
	slices.SortFunc(out, func(a, b ConnectionState) int { return strings.Compare(a.ConnectionID, b.ConnectionID) })
	return out, nil
}

// SaveConnectionState stores s, replacing what was there.
func (q *queries) SaveConnectionState(ctx context.Context, s ConnectionState) error {
	if s.ConnectionID == "" {
		return fmt.Errorf("%w: connection state: empty connection id", ErrInvalidItem)
	}
	projects, err := jsonArgOf(s.Projects, s.Projects == nil)
	if err != nil {
		return fmt.Errorf("store: save state of connection %q: %w", s.ConnectionID, err)
	}
	lastRun, err := jsonArgOf(s.LastRun, s.LastRun == nil)
	if err == nil {
		err = q.db.exec(ctx, `INSERT INTO circleci_sync_connections
			(connection_id, org_slug, base_url, projects, last_run_at, last_run, updated_at,
			 verified_at, discovered_at, discovery_watermark, followed_at)
			VALUES ($1, $2, $3, `+q.jsonParam(4)+`, $5, `+q.jsonParam(6)+`, $7, $8, $9, $10, $11)
			ON CONFLICT (connection_id) DO UPDATE SET
				org_slug = excluded.org_slug, base_url = excluded.base_url,
				projects = excluded.projects, last_run_at = excluded.last_run_at,
				last_run = excluded.last_run, updated_at = excluded.updated_at,
				verified_at = excluded.verified_at, discovered_at = excluded.discovered_at,
				discovery_watermark = excluded.discovery_watermark, followed_at = excluded.followed_at`,
			s.ConnectionID, s.OrgSlug, s.BaseURL, projects, timeArg(s.LastRunAt), lastRun, timeArg(q.now()),
			timeArg(s.VerifiedAt), timeArg(s.DiscoveredAt), timeArg(s.DiscoveryWatermark), timeArg(s.FollowedAt))
	}
	if err != nil {
		return fmt.Errorf("store: save state of connection %q: %w", s.ConnectionID, err)
	}
	return nil
}

// OpenItems returns the project's entities that can still change (non-final pipelines,
// or with a non-terminal workflow; non-terminal workflows), sorted.
func (q *queries) OpenItems(ctx context.Context, projectSlug string) (OpenItems, error) {
	var items OpenItems
	var err error
	items.PipelineIDs, err = q.queryStrings(ctx, nil,
		`SELECT id FROM circleci_pipelines WHERE project_slug = $1 AND `+openPipelinePredicate+`
		UNION
		SELECT p.id FROM circleci_workflows w JOIN circleci_pipelines p ON p.id = w.pipeline_id
		WHERE w.project_slug = $1 AND w.`+openWorkflowPredicate,
		projectSlug)
	if err != nil {
		return OpenItems{}, fmt.Errorf("store: open pipelines of %q: %w", projectSlug, err)
	}
	items.WorkflowIDs, err = q.queryStrings(ctx, nil,
		`SELECT id FROM circleci_workflows WHERE project_slug = $1 AND `+openWorkflowPredicate,
		projectSlug)
	if err != nil {
		return OpenItems{}, fmt.Errorf("store: open workflows of %q: %w", projectSlug, err)
	}
	slices.Sort(items.PipelineIDs)
	slices.Sort(items.WorkflowIDs)
	return items, nil
}

// PipelinesCreatedSince returns the ids of the project's pipelines created since t, newest first.
func (q *queries) PipelinesCreatedSince(ctx context.Context, projectSlug string, t time.Time) ([]string, error) {
	ids, err := q.queryStrings(ctx, nil,
		`SELECT id FROM circleci_pipelines WHERE project_slug = $1 AND created_at >= $2
		ORDER BY created_at DESC, number DESC, id DESC`,
		projectSlug, sinceArg(t))
	if err != nil {
		return nil, fmt.Errorf("store: pipelines of %q created since %s: %w", projectSlug, t.Format(time.RFC3339Nano), err)
	}
	return ids, nil
}

// newestPipelinesQuery gives each project's newest created_at by walking the
// (project_slug, created_at) index: a few seeks per project, not a table scan.
const newestPipelinesQuery = `WITH RECURSIVE slugs (slug) AS (
		SELECT min(project_slug) FROM circleci_pipelines
		UNION ALL
		SELECT (SELECT min(p.project_slug) FROM circleci_pipelines p WHERE p.project_slug > s.slug)
		FROM slugs s WHERE s.slug IS NOT NULL
	)
	SELECT s.slug, (SELECT max(p.created_at) FROM circleci_pipelines p WHERE p.project_slug = s.slug)
	FROM slugs s WHERE s.slug IS NOT NULL`

// NewestPipelines returns each project's newest stored created_at (cheap: every scrape).
func (q *queries) NewestPipelines(ctx context.Context) (map[string]time.Time, error) {
	rows, err := q.db.query(ctx, newestPipelinesQuery)
	if err != nil {
		return nil, fmt.Errorf("store: newest pipeline of each project: %w", err)
	}
	defer rows.Close()
	out := make(map[string]time.Time)
	for rows.Next() {
		var slug string
		var newest scanTime
		if err := rows.Scan(&slug, &newest); err != nil {
			return nil, fmt.Errorf("store: newest pipeline of each project: %w", err)
		}
		if !newest.t.IsZero() {
			out[slug] = newest.t
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: newest pipeline of each project: %w", err)
	}
	return out, nil
}

// storedKeys returns ids as stored, deduplicated, and for each key the ids mapping to it.
func (q *queries) storedKeys(ids []string) ([]string, map[string][]string) {
	asked := make(map[string][]string, len(ids))
	keys := make([]string, 0, len(ids))
	for _, id := range ids {
		k := q.db.text(id)
		if _, dup := asked[k]; !dup {
			keys = append(keys, k)
		}
		asked[k] = append(asked[k], id)
	}
	return keys, asked
}

// UsersFetchedSince returns which of ids are users fetched since t (true; absent otherwise).
func (q *queries) UsersFetchedSince(ctx context.Context, ids []string, t time.Time) (map[string]bool, error) {
	out := make(map[string]bool)
	if len(ids) == 0 {
		return out, nil
	}
	keys, asked := q.storedKeys(ids)
	var found []string
	for _, chunk := range q.chunks(keys) {
		cond, args := q.inList("id", 2, chunk)
		var err error
		found, err = q.queryStrings(ctx, found,
			`SELECT id FROM circleci_users WHERE fetched_at >= $1 AND `+cond,
			append([]any{sinceArg(t)}, args...)...)
		if err != nil {
			return nil, fmt.Errorf("store: users fetched since %s: %w", t.Format(time.RFC3339Nano), err)
		}
	}
	for _, k := range found {
		for _, id := range asked[k] {
			out[id] = true
		}
	}
	return out, nil
}

// WorkflowStatuses returns the stored status of those of ids that are stored workflows.
func (q *queries) WorkflowStatuses(ctx context.Context, ids []string) (map[string]string, error) {
	return q.columnByID(ctx, "statuses of %d workflows", "circleci_workflows", "status", ids)
}

// columnByID returns table's column (a constant name) for those of ids that are stored,
// keyed by the ids as asked; what names the read in errors ("%d" takes the count).
func (q *queries) columnByID(ctx context.Context, what, table, column string, ids []string) (map[string]string, error) {
	out := make(map[string]string)
	if len(ids) == 0 {
		return out, nil
	}
	fail := func(err error) (map[string]string, error) {
		return nil, fmt.Errorf("store: "+what+": %w", len(ids), err)
	}
	keys, asked := q.storedKeys(ids)
	for _, chunk := range q.chunks(keys) {
		cond, args := q.inList("id", 1, chunk)
		rows, err := q.db.query(ctx, `SELECT id, `+column+` FROM `+table+` WHERE `+cond, args...)
		if err != nil {
			return fail(err)
		}
		for rows.Next() {
			var id string
			var v sql.NullString
			if err := rows.Scan(&id, &v); err != nil {
				rows.Close()
				return fail(err)
			}
			for _, a := range asked[id] {
				out[a] = v.String
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fail(err)
		}
	}
	return out, nil
}

// UserRefs returns the distinct user ids the projects' workflows and jobs reference, sorted.
func (q *queries) UserRefs(ctx context.Context, projectSlugs []string) ([]string, error) {
	var refs []string
	for _, chunk := range q.chunks(projectSlugs) {
		if len(chunk) == 0 {
			continue
		}
		cond, args := q.inList("project_slug", 1, chunk)
		var parts []string
		for _, ref := range []struct{ table, col string }{
			{"circleci_workflows", "started_by"},
			{"circleci_workflows", "canceled_by"},
			{"circleci_workflows", "errored_by"},
			{"circleci_jobs", "approved_by"},
			{"circleci_jobs", "canceled_by"},
		} {
			parts = append(parts, fmt.Sprintf("SELECT %[2]s FROM %[1]s WHERE %[3]s AND %[2]s IS NOT NULL",
				ref.table, ref.col, cond))
		}
		var err error
		refs, err = q.queryStrings(ctx, refs, strings.Join(parts, "\nUNION\n"), args...)
		if err != nil {
			return nil, fmt.Errorf("store: user references of %d projects: %w", len(projectSlugs), err)
		}
	}
	refs = slices.DeleteFunc(refs, func(s string) bool { return s == "" })
	slices.Sort(refs)
	return slices.Compact(refs), nil
}

// Skipped lists the skipped-entity ledger, ordered by kind and id (bytewise).
func (q *queries) Skipped(ctx context.Context) ([]Skipped, error) {
	rows, err := q.db.query(ctx, `SELECT kind, id, project_slug, reason, http_status, message, first_seen, last_seen
		FROM circleci_skipped`)
	if err != nil {
		return nil, fmt.Errorf("store: read skipped ledger: %w", err)
	}
	defer rows.Close()
	var out []Skipped
	for rows.Next() {
		var s Skipped
		var status sql.NullInt64
		var first, last scanTime
		if err := rows.Scan(&s.Kind, &s.ID, &s.ProjectSlug, &s.Reason, &status, &s.Message, &first, &last); err != nil {
			return nil, fmt.Errorf("store: read skipped ledger: %w", err)
		}
		s.HTTPStatus, s.FirstSeen, s.LastSeen = int(status.Int64), first.t, last.t
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read skipped ledger: %w", err)
	}
	slices.SortFunc(out, func(a, b Skipped) int {
		return compareKeys([2]string{a.Kind, a.ID}, [2]string{b.Kind, b.ID})
	})
	return out, nil
}

// Counts counts the rows of each data table.
func (q *queries) Counts(ctx context.Context) (Counts, error) {
	sel := make([]string, 0, len(EntityKinds)+1)
	n := make([]int64, len(EntityKinds)+1)
	dest := make([]any, len(n))
	for i, k := range EntityKinds {
		sel = append(sel, "(SELECT count(*) FROM "+k.Table()+")")
		dest[i] = &n[i]
	}
	sel = append(sel, "(SELECT count(*) FROM "+SkippedTable+")")
	dest[len(EntityKinds)] = &n[len(EntityKinds)]
	if _, err := q.queryRow(ctx, dest, "SELECT "+strings.Join(sel, ", ")); err != nil {
		return Counts{}, fmt.Errorf("store: count rows: %w", err)
	}
	c := Counts{Skipped: n[len(EntityKinds)]}
	for i, k := range EntityKinds {
		if n[i] > 0 {
			if c.Entities == nil {
				c.Entities = map[string]int64{}
			}
			c.Entities[k.Name] = n[i]
		}
	}
	return c, nil
}

// scanTime scans a nullable timestamp of either database into UTC (zero for NULL).
type scanTime struct{ t time.Time }

// Scan implements sql.Scanner.
func (s *scanTime) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		s.t = time.Time{}
	case time.Time:
		s.t = v.UTC()
	case string:
		t, err := parseSQLiteTime(v)
		if err != nil {
			return err
		}
		s.t = t
	case []byte:
		return s.Scan(string(v))
	default:
		return fmt.Errorf("scan %T into a time", v)
	}
	return nil
}

// timeArg is a timestamp argument: nil for the zero time, else UTC at timePrecision.
func timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Truncate(timePrecision)
}

// sinceArg is t as a "stored >= t" argument: UTC, rounded up to timePrecision; the zero
// time matches every stored time.
func sinceArg(t time.Time) time.Time {
	t = t.UTC()
	if t.Year() < 1 {
		return time.Time{}
	}
	if tr := t.Truncate(timePrecision); !tr.Equal(t) {
		return tr.Add(timePrecision)
	}
	return t
}

// jsonArgOf encodes v as a JSON argument, nil when isNil.
func jsonArgOf(v any, isNil bool) (any, error) {
	if isNil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode JSON: %w", err)
	}
	return jsonArg(b), nil
}

// decodeLastRun decodes a stored last_run: nil for NULL.
func decodeLastRun(s sql.NullString) (map[string]int64, error) {
	if !s.Valid {
		return nil, nil
	}
	var m map[string]int64
	if err := json.Unmarshal([]byte(s.String), &m); err != nil {
		return nil, fmt.Errorf("decode last_run: %w", err)
	}
	return m, nil
}
