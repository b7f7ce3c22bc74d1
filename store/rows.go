package store

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci"
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
	var err error
	add := func(t *table, rows [][]any) {
		if len(rows) > 0 {
			p.upserts = append(p.upserts, tableRows{table: t, rows: rows})
		}
	}

	// Tables in a fixed order, rows sorted by key: concurrent writers never deadlock.
	var rows [][]any
	if rows, err = buildRows(b.Projects, "Projects", now, projectRow); err != nil {
		return writePlan{}, err
	}
	add(projectsTable, rows)
	if rows, err = buildRows(b.Pipelines, "Pipelines", now, pipelineRow); err != nil {
		return writePlan{}, err
	}
	add(pipelinesTable, rows)
	if rows, err = buildRows(b.Workflows, "Workflows", now, workflowRow); err != nil {
		return writePlan{}, err
	}
	add(workflowsTable, rows)
	if rows, err = buildRows(b.Jobs, "Jobs", now, jobRow); err != nil {
		return writePlan{}, err
	}
	add(jobsTable, rows)
	if rows, err = buildRows(b.Users, "Users", now, userRow); err != nil {
		return writePlan{}, err
	}
	add(usersTable, rows)
	if rows, err = buildRows(b.Skipped, "Skipped", now, skippedRow); err != nil {
		return writePlan{}, err
	}
	add(skippedTable, rows)

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
	seen := make(map[[2]string]int, len(rows))
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
			return compareKeys(rowKey(a, keyLen), rowKey(b, keyLen))
		})
	}
	return out
}

// rowKey returns the key of a row: its first keyLen (1 or 2) text columns.
func rowKey(r []any, keyLen int) [2]string {
	var k [2]string
	for i := 0; i < keyLen; i++ {
		k[i] = r[i].(string)
	}
	return k
}

// compareKeys orders keys bytewise.
func compareKeys(a, b [2]string) int {
	return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
}

// projectRow is the circleci_projects row of p.
func projectRow(p circleci.Project, now time.Time) ([]any, error) {
	if p.Slug == "" {
		return nil, fmt.Errorf("project (id %q): empty slug", p.ID)
	}
	raw, err := rawJSON(p.Raw)
	if err != nil {
		return nil, fmt.Errorf("project %q: %w", p.Slug, err)
	}
	return []any{
		p.Slug, p.ID, p.Name,
		p.OrganizationName, p.OrganizationSlug, p.OrganizationID,
		p.VCSInfo.VCSURL, p.VCSInfo.Provider, p.VCSInfo.DefaultBranch,
		raw, now,
	}, nil
}

// pipelineRow is p's circleci_pipelines row; the vcs columns fall back to
// trigger_parameters.git when p has no VCS.
func pipelineRow(p circleci.Pipeline, now time.Time) ([]any, error) {
	if p.ID == "" {
		return nil, errors.New("pipeline: empty id")
	}
	fail := func(err error) ([]any, error) { return nil, fmt.Errorf("pipeline %q: %w", p.ID, err) }
	createdAt, err := timeValue(p.CreatedAt, "created_at")
	if err != nil {
		return fail(err)
	}
	updatedAt, err := timePtrValue(p.UpdatedAt, "updated_at")
	if err != nil {
		return fail(err)
	}
	receivedAt, err := timeValue(p.Trigger.ReceivedAt, "trigger.received_at")
	if err != nil {
		return fail(err)
	}
	raw, err := rawJSON(p.Raw)
	if err != nil {
		return fail(err)
	}
	pipelineErrors := p.Errors
	if pipelineErrors == nil {
		pipelineErrors = []circleci.PipelineError{}
	}
	errs, err := jsonValue(pipelineErrors)
	if err != nil {
		return fail(err)
	}

	var branch, tag, revision, provider, subject *string
	if v := p.VCS; v != nil {
		branch, tag, revision, provider = v.Branch, v.Tag, v.Revision, &v.ProviderName
		if v.Commit != nil {
			subject = v.Commit.Subject
		}
	}
	if branch == nil || tag == nil || revision == nil {
		git := triggerGit(p.TriggerParameters)
		branch = cmp.Or(branch, git.Branch)
		tag = cmp.Or(tag, git.Tag)
		revision = cmp.Or(revision, git.CheckoutSHA)
	}
	return []any{
		p.ID, p.ProjectSlug, p.Number, p.State,
		createdAt, updatedAt,
		p.Trigger.Type, receivedAt, p.Trigger.Actor.Login,
		optString(branch), optString(tag), optString(revision),
		optString(provider), optString(subject),
		errs, raw, now,
	}, nil
}

// gitParameters is what pipelineRow reads of trigger_parameters.git.
type gitParameters struct {
	Branch      *string `json:"branch"`
	Tag         *string `json:"tag"`
	CheckoutSHA *string `json:"checkout_sha"`
}

// triggerGit decodes trigger_parameters.git leniently: anything unexpected is absent.
func triggerGit(params map[string]json.RawMessage) gitParameters {
	var g gitParameters
	raw, ok := params["git"]
	if !ok {
		return g
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return g
	}
	str := func(name string) *string {
		var s string
		if v, ok := fields[name]; ok && json.Unmarshal(v, &s) == nil {
			return &s
		}
		return nil
	}
	g.Branch, g.Tag, g.CheckoutSHA = str("branch"), str("tag"), str("checkout_sha")
	return g
}

// workflowRow is the circleci_workflows row of w.
func workflowRow(w circleci.Workflow, now time.Time) ([]any, error) {
	if w.ID == "" {
		return nil, errors.New("workflow: empty id")
	}
	fail := func(err error) ([]any, error) { return nil, fmt.Errorf("workflow %q: %w", w.ID, err) }
	createdAt, err := timeValue(w.CreatedAt, "created_at")
	if err != nil {
		return fail(err)
	}
	stoppedAt, err := timePtrValue(w.StoppedAt, "stopped_at")
	if err != nil {
		return fail(err)
	}
	raw, err := rawJSON(w.Raw)
	if err != nil {
		return fail(err)
	}
	return []any{
		w.ID, w.PipelineID, w.PipelineNumber,
		w.ProjectSlug, w.Name, w.Status, optString(w.Tag),
		createdAt, stoppedAt,
		optString(w.StartedBy), optString(w.CanceledBy), optString(w.ErroredBy),
		optInt(w.AutoRerunNumber), optInt(w.MaxAutoReruns),
		raw, now,
	}, nil
}

// jobRow is the circleci_jobs row of j.
func jobRow(j circleci.Job, now time.Time) ([]any, error) {
	if j.ID == "" {
		return nil, fmt.Errorf("job (name %q): empty id", j.Name)
	}
	fail := func(err error) ([]any, error) { return nil, fmt.Errorf("job %q: %w", j.ID, err) }
	if j.WorkflowID == "" {
		return fail(errors.New("empty WorkflowID"))
	}
	startedAt, err := timePtrValue(j.StartedAt, "started_at")
	if err != nil {
		return fail(err)
	}
	stoppedAt, err := timePtrValue(j.StoppedAt, "stopped_at")
	if err != nil {
		return fail(err)
	}
	raw, err := rawJSON(j.Raw)
	if err != nil {
		return fail(err)
	}
	deps := j.Dependencies
	if deps == nil {
		deps = []string{}
	}
	dependencies, err := jsonValue(deps)
	if err != nil {
		return fail(err)
	}
	var requires any
	if j.Requires != nil {
		if requires, err = jsonValue(j.Requires); err != nil {
			return fail(err)
		}
	}
	return []any{
		j.WorkflowID, j.ID, j.ProjectSlug,
		optInt(j.JobNumber), j.Name, j.Type, j.Status,
		startedAt, stoppedAt,
		optString(j.ApprovedBy), optString(j.CanceledBy), optString(j.ApprovalRequestID),
		dependencies, requires,
		raw, now,
	}, nil
}

// userRow is the circleci_users row of u.
func userRow(u circleci.User, now time.Time) ([]any, error) {
	if u.ID == "" {
		return nil, fmt.Errorf("user (login %q): empty id", u.Login)
	}
	raw, err := rawJSON(u.Raw)
	if err != nil {
		return nil, fmt.Errorf("user %q: %w", u.ID, err)
	}
	return []any{u.ID, u.Login, u.Name, optString(u.AvatarURL), raw, now}, nil
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
