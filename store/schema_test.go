package store

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// modelConstants returns the string constants of the circleci package (its product
// files) whose names start with prefix.
func modelConstants(t *testing.T, prefix string) []string {
	t.Helper()
	files, err := filepath.Glob("../circleci/*.go")
	require.NoError(t, err)
	var decls []ast.Decl
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		require.NoError(t, err)
		decls = append(decls, f.Decls...)
	}
	var values []string
	for _, d := range decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, prefix) || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				require.True(t, ok && lit.Kind == token.STRING, "%s is not a string literal", name.Name)
				v, err := strconv.Unquote(lit.Value)
				require.NoError(t, err)
				values = append(values, v)
			}
		}
	}
	require.NotEmpty(t, values, prefix)
	return values
}

// TestStatusListsCoverModels keeps the status lists that the SQL is generated from in
// step with the circleci package: a status constant added there must be added here.
func TestStatusListsCoverModels(t *testing.T) {
	require.ElementsMatch(t, modelConstants(t, "WorkflowStatus"), knownWorkflowStatuses)
	require.ElementsMatch(t, modelConstants(t, "JobStatus"), knownJobStatuses)
	require.ElementsMatch(t, modelConstants(t, "PipelineState"), knownPipelineStates)
	require.Equal(t, []string{circleci.PipelineStateCreated, circleci.PipelineStateErrored}, finalPipelineStates)
	require.Equal(t, "('created', 'errored')", finalPipelineSQL)
	for _, s := range knownWorkflowStatuses {
		require.Equal(t, circleci.IsTerminalWorkflowStatus(s), slices.Contains(terminalWorkflowStatuses, s), s)
	}
	for _, s := range knownJobStatuses {
		require.Equal(t, circleci.IsTerminalJobStatus(s), slices.Contains(terminalJobStatuses, s), s)
	}
	require.Equal(t, "('success', 'not_run', 'failed', 'error', 'canceled', 'unauthorized')", terminalWorkflowSQL)
}

// TestGuardSQL pins the version guards' SQL, generated from the status lists.
func TestGuardSQL(t *testing.T) {
	require.Equal(t, "NOT (circleci_pipelines.state IN ('created', 'errored') AND excluded.state NOT IN ('created', 'errored'))"+
		" AND (circleci_pipelines.updated_at IS NULL OR (excluded.updated_at IS NOT NULL AND circleci_pipelines.updated_at <= excluded.updated_at))",
		pipelinesTable.guard)
	require.Equal(t, "NOT (circleci_jobs.status IN "+terminalJobSQL+" AND excluded.status NOT IN "+terminalJobSQL+")"+
		" AND (circleci_jobs.stopped_at IS NULL OR (excluded.stopped_at IS NOT NULL AND circleci_jobs.stopped_at <= excluded.stopped_at))",
		jobsTable.guard)
}

// TestMigrationPredicatesMatchGo: the partial indexes of the migrations must use the
// predicates the queries use, or the planners ignore them. When a status list changes,
// a new migration must recreate the indexes.
func TestMigrationPredicatesMatchGo(t *testing.T) {
	for _, dir := range []string{"sqlite", "postgres"} {
		ms, err := loadMigrations(dir)
		require.NoError(t, err)
		var all strings.Builder
		for _, m := range ms {
			all.WriteString(m.sql)
		}
		sql := strings.Join(strings.Fields(all.String()), " ")
		for _, p := range []string{openWorkflowPredicate, openJobPredicate, openPipelinePredicate} {
			require.Contains(t, sql, "WHERE "+p+";", "%s migrations", dir)
		}
	}
}

func TestLoadMigrations(t *testing.T) {
	sqlite, err := loadMigrations("sqlite")
	require.NoError(t, err)
	postgres, err := loadMigrations("postgres")
	require.NoError(t, err)
	require.Equal(t, len(sqlite), len(postgres), "every migration exists for both dialects")
	for i := range sqlite {
		require.Equal(t, sqlite[i].version, postgres[i].version)
		require.Equal(t, sqlite[i].name, postgres[i].name)
		require.Equal(t, int64(i+1), sqlite[i].version)
	}
	_, err = loadMigrations("nope")
	require.Error(t, err)
}

// TestRowShapes checks that the row builders produce one value per table column, of
// the column's type.
func TestRowShapes(t *testing.T) {
	now := time.Now()
	cases := []struct {
		table *table
		row   func() ([]any, error)
	}{
		{projectsTable, func() ([]any, error) { return projectRow(newProject("gh/o/r"), now) }},
		{pipelinesTable, func() ([]any, error) { return pipelineRow(newPipeline("p", "s", 1, now), now) }},
		{workflowsTable, func() ([]any, error) {
			w := newWorkflow("w", "p", "s", "running", &now)
			w.Tag, w.CanceledBy, w.ErroredBy, w.AutoRerunNumber, w.MaxAutoReruns = ptr("t"), ptr("c"), ptr("e"), ptr(int64(1)), ptr(int64(2))
			return workflowRow(w, now)
		}},
		{jobsTable, func() ([]any, error) {
			j := newJob("j", "w", "s", "running", &now)
			j.ApprovedBy, j.CanceledBy, j.ApprovalRequestID, j.Requires = ptr("a"), ptr("c"), ptr("r"), map[string][]string{}
			return jobRow(j, now)
		}},
		{usersTable, func() ([]any, error) { return userRow(newUser("u", "l"), now) }},
		{jobDetailsTable, func() ([]any, error) { return jobDetailsRow(newJobDetails("gh/o/r", 7, "j"), now) }},
		{testResultsTable, func() ([]any, error) { return testResultRow(newTestResult("gh/o/r", 7, 0), now) }},
		{jobTestsTable, func() ([]any, error) {
			return jobTestsRow(JobTests{ProjectSlug: "s", JobNumber: 1, Outcome: TestsEmpty}, now)
		}},
		{skippedTable, func() ([]any, error) {
			return skippedRow(Skipped{EntityRef: EntityRef{Kind: "k", ID: "i"}, HTTPStatus: 500}, now)
		}},
	}
	for _, c := range cases {
		row, err := c.row()
		require.NoError(t, err, c.table.name)
		require.Len(t, row, len(c.table.cols), c.table.name)
		for i, col := range c.table.cols {
			v := row[i]
			if v == nil {
				continue
			}
			want := map[colType]reflect.Type{
				colText: reflect.TypeFor[string](), colJSON: reflect.TypeFor[string](),
				colInt: reflect.TypeFor[int64](), colTime: reflect.TypeFor[time.Time](),
				colFloat: reflect.TypeFor[float64](),
			}[col.typ]
			require.Equal(t, want, reflect.TypeOf(v), "%s.%s", c.table.name, col.name)
		}
	}
}

func TestRounds(t *testing.T) {
	r := func(id, v string) []any { return []any{id, v} }
	got := rounds([][]any{r("b", "1"), r("a", "1"), r("b", "2"), r("c", "1"), r("b", "3"), r("a", "2")}, 1)
	require.Equal(t, [][][]any{
		{r("a", "1"), r("b", "1"), r("c", "1")},
		{r("a", "2"), r("b", "2")},
		{r("b", "3")},
	}, got)
	require.Empty(t, rounds(nil, 1))

	two := rounds([][]any{{"k", "x", 1}, {"k", "y", 2}, {"k", "x", 3}}, 2)
	require.Equal(t, [][][]any{{{"k", "x", 1}, {"k", "y", 2}}, {{"k", "x", 3}}}, two)
}

func TestPipelineVCSFallback(t *testing.T) {
	p := circleci.Pipeline{ID: "p", TriggerParameters: map[string]json.RawMessage{
		"git": json.RawMessage(`{"branch": 5, "checkout_sha": "sha"}`),
	}, VCS: &circleci.VCS{Branch: ptr("from-vcs")}}
	row, err := pipelineRow(p, time.Now())
	require.NoError(t, err)
	col := func(name string) any { return row[slices.Index(pipelinesTable.colNames(), name)] }
	require.Equal(t, "from-vcs", col("vcs_branch"))
	require.Equal(t, "sha", col("vcs_revision"))
	require.Nil(t, col("vcs_tag"))

	p.TriggerParameters = map[string]json.RawMessage{"git": json.RawMessage(`"not an object"`)}
	p.VCS = nil
	row, err = pipelineRow(p, time.Now())
	require.NoError(t, err)
	require.Nil(t, col("vcs_branch"))
	require.Nil(t, col("vcs_provider"))
}
