package activities

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/store"
)

// corruptRoutes are the three lists SyncPipelinePage reads, each with a small
// dataset in which a list of that kind spans two pages on page 1, past its
// first pipeline (see corruptTarget).
var corruptRoutes = []struct {
	short, route string
	opts         circlecitest.Options
}{
	{"project_pipelines", circleci.RouteProjectPipelines,
		circlecitest.Options{Seed: 3, Projects: 1, PipelinesPerProject: 22, MaxWorkflowsPerPipeline: 2, MaxJobsPerWorkflow: 3}},
	{"pipeline_workflows", circleci.RoutePipelineWorkflow,
		circlecitest.Options{Seed: 4, Projects: 1, PipelinesPerProject: 12, MaxWorkflowsPerPipeline: 24, MaxJobsPerWorkflow: 2}},
	{"workflow_jobs", circleci.RouteWorkflowJobs,
		circlecitest.Options{Seed: 4, Projects: 1, PipelinesPerProject: 12, MaxWorkflowsPerPipeline: 2, MaxJobsPerWorkflow: 25}},
}

// wantFailure is how SyncPipelinePage fails when the first eligible answer
// of a list is spoilt by kind: the ApplicationError type and what its message
// must say besides the route.
var wantFailure = map[circlecitest.CorruptionKind]struct{ errType, says string }{
	circlecitest.CorruptMalformedJSON:  {ErrBadResponse, "decode (HTTP 200): invalid JSON"},
	circlecitest.CorruptTruncated:      {ErrTransport, "transport (HTTP 200): reading the response body: unexpected EOF"},
	circlecitest.CorruptOversize:       {ErrBadResponse, "decode (HTTP 200): response body exceeds the 8388608-byte limit"},
	circlecitest.CorruptWrongTypes:     {ErrBadResponse, "decode (HTTP 200): a field has the wrong type"},
	circlecitest.CorruptHTMLError:      {ErrServer, "server (HTTP 502): HTML error page: 502 Bad Gateway"},
	circlecitest.CorruptPageTokenCycle: {ErrBadResponse, "pagination: page 2 returned the next_page_token already used for page 2"},
}

// pageRows are rows of the store or of Expected, each as "col|col|…", as
// compared by the bad-input tests.
type pageRows struct{ pipelines, workflows, jobs []string }

// storedRows reads the pipelines, workflows and jobs the store holds.
func storedRows(t *testing.T, d testDB) pageRows {
	t.Helper()
	return pageRows{
		pipelines: d.rows(t, `SELECT CAST(id AS TEXT), project_slug, CAST(number AS TEXT), state, trigger_type FROM circleci_pipelines`),
		workflows: d.rows(t, `SELECT CAST(id AS TEXT), CAST(pipeline_id AS TEXT), project_slug, name, status,
			CAST(pipeline_number AS TEXT), COALESCE(CAST(started_by AS TEXT), '') FROM circleci_workflows`),
		jobs: d.rows(t, `SELECT CAST(id AS TEXT), CAST(workflow_id AS TEXT), project_slug, name, status, type,
			COALESCE(CAST(job_number AS TEXT), ''), COALESCE(CAST(approved_by AS TEXT), '') FROM circleci_jobs`),
	}
}

// rows returns the rows query selects, each as its columns joined by "|",
// sorted.
func (d testDB) rows(t *testing.T, query string) []string {
	t.Helper()
	rs, err := d.db.Query(query)
	require.NoError(t, err)
	defer rs.Close()
	cols, err := rs.Columns()
	require.NoError(t, err)
	var out []string
	for rs.Next() {
		vals := make([]string, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rs.Scan(ptrs...))
		out = append(out, strings.Join(vals, "|"))
	}
	require.NoError(t, rs.Err())
	return sortedIDs(out, func(s string) string { return s })
}

// expectedRows are the rows a complete sync of pipelines stores: theirs, and
// those of their workflows and jobs.
func expectedRows(ex circlecitest.Expected, pipelines []circlecitest.Pipeline) pageRows {
	var r pageRows
	in := map[string]bool{}
	for _, p := range pipelines {
		in[p.ID] = true
		r.pipelines = append(r.pipelines, strings.Join([]string{p.ID, p.ProjectSlug, strconv.FormatInt(p.Number, 10),
			p.State, p.Trigger.Type}, "|"))
	}
	wfIn := map[string]bool{}
	for _, w := range ex.Workflows {
		if in[w.PipelineID] {
			wfIn[w.ID] = true
			r.workflows = append(r.workflows, strings.Join([]string{w.ID, w.PipelineID, w.ProjectSlug, w.Name, w.Status,
				strconv.FormatInt(w.PipelineNumber, 10), w.StartedBy}, "|"))
		}
	}
	for _, j := range ex.Jobs {
		if wfIn[j.WorkflowID] {
			num := ""
			if j.JobNumber != nil {
				num = strconv.FormatInt(*j.JobNumber, 10)
			}
			r.jobs = append(r.jobs, strings.Join([]string{j.ID, j.WorkflowID, j.ProjectSlug, j.Name, j.Status, j.Type,
				num, j.ApprovedBy}, "|"))
		}
	}
	id := func(s string) string { return s }
	return pageRows{sortedIDs(r.pipelines, id), sortedIDs(r.workflows, id), sortedIDs(r.jobs, id)}
}

// lastProgress returns a heartbeat listener keeping the last PageProgress
// heartbeated into *p (and setting *beat).
func lastProgress(t *testing.T, p *PageProgress, beat *bool) func(env *testsuite.TestActivityEnvironment) {
	return func(env *testsuite.TestActivityEnvironment) {
		env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
			var got PageProgress
			require.NoError(t, details.Get(&got))
			*p, *beat = got, true
		})
	}
}

// resumeFrom sets the heartbeat details of a retry to p, when there were any.
func resumeFrom(p PageProgress, beat bool) func(env *testsuite.TestActivityEnvironment) {
	return func(env *testsuite.TestActivityEnvironment) {
		if beat {
			env.SetHeartbeatDetails(p)
		}
	}
}

// TestSyncPipelinePageBadResponses: each corruption of the first eligible
// answer of the pipeline list, a workflow list or a job list fails
// SyncPipelinePage with a stable, token-free ApplicationError naming the
// route; the store holds only correct, complete rows; and once the answers
// are whole again a retry of the same activity, resuming from the failed
// attempt's heartbeat, stores exactly what Expected says.
func TestSyncPipelinePageBadResponses(t *testing.T) {
	for _, rc := range corruptRoutes {
		for _, kind := range circlecitest.CorruptionKinds {
			if rc.short == "project_pipelines" && kind == circlecitest.CorruptPageTokenCycle {
				// One page per activity: see the note in the report (pagecycle_test.go).
				continue
			}
			t.Run(rc.short+"/"+string(kind), func(t *testing.T) {
				forEachBackend(t, func(t *testing.T, tdb testDB) {
					f := newFixture(t, rc.opts, tdb)
					slug := firstProject(f)
					ex := f.srv.Expected(testToken)
					page := projectPipelines(ex, slug)
					page = page[:min(len(page), circlecitest.PageSize)]
					at, match := corruptTarget(t, ex, page, rc.short)

					first := 1
					if kind == circlecitest.CorruptHTMLError {
						// A 5xx is tried three times in the activity: spoil all
						// three.
						first = 3
					}
					f.srv.SetFaults(circlecitest.Faults{Corrupt: []circlecitest.Corruption{
						{Route: rc.short, Kind: kind, First: first, Match: match}}})
					var progress PageProgress
					var beat bool
					in := PageInput{Connection: f.conn, ProjectSlug: slug, PageNumber: 1}
					var res PageResult
					err := run(t, f.a.SyncPipelinePage, in, &res, lastProgress(t, &progress, &beat))
					require.EqualValues(t, first, f.srv.Stats().Corrupted[kind], "the fault was met")

					if kind == circlecitest.CorruptHTMLError && rc.short != "project_pipelines" {
						// Then the pipeline (or workflow) goes to the skipped
						// ledger, as for any 5xx, and the page completes.
						require.NoError(t, err)
						require.EqualValues(t, 1, res.Counts.Skipped)
						ledger, err := tdb.st.Skipped(context.Background())
						require.NoError(t, err)
						require.Len(t, ledger, 1)
						require.Equal(t, match, ledger[0].ID)
						require.Equal(t, map[string]string{"pipeline_workflows": "pipeline", "workflow_jobs": "workflow"}[rc.short],
							ledger[0].Kind)
						require.Equal(t, "server_error", ledger[0].Reason)
						require.Equal(t, 502, ledger[0].HTTPStatus)
						require.Equal(t, "HTML error page: 502 Bad Gateway", ledger[0].Message)
						require.Equal(t, withoutChildren(expectedRows(ex, page), match), storedRows(t, tdb),
							"the page is stored but for what the ledger lists")
					} else {
						want := wantFailure[kind]
						ae := requireAppError(t, err, want.errType, false)
						msg := ae.Error()
						require.Contains(t, msg, "of project "+slug, "names the project")
						require.Contains(t, msg, "GET "+rc.route, "names the route")
						require.Contains(t, msg, want.says)
						if match != "" {
							require.Contains(t, msg, match, "names the pipeline or workflow")
						}
						require.Less(t, len(msg), 600, "a short message, not the body: %.800s", msg)
						for _, bodyPart := range []string{"_padding", "xxxxxxxx", "<html", `"items"`} {
							require.NotContains(t, msg, bodyPart)
						}
						// The pipelines before the spoilt one are stored whole and
						// right, nothing else: no half-written pipeline.
						require.Equal(t, expectedRows(ex, page[:at]), storedRows(t, tdb))
						if at > 0 {
							require.True(t, beat, "the written prefix was heartbeated")
						}
						if beat {
							require.Equal(t, at, progress.Next, "the heartbeat covers what was written")
						}
					}

					// The answers are whole again: the retry completes the page.
					// It goes to a fresh fake with the same data, so that requests
					// the failed attempt cancelled, which may still reach the
					// first one, are not counted as the retry's.
					f.srv.SetFaults(circlecitest.Faults{})
					clean := circlecitest.NewServer(f.srv.Options())
					t.Cleanup(clean.Close)
					in.Connection.BaseURL = clean.URL
					require.NoError(t, run(t, f.a.SyncPipelinePage, in, &res, resumeFrom(progress, beat)))
					require.Equal(t, int64(len(page)), res.Counts.Of(store.KindPipeline))
					require.Equal(t, expectedRows(ex, page), storedRows(t, tdb), "the store holds exactly the page")
					ledger, err := tdb.st.Skipped(context.Background())
					require.NoError(t, err)
					require.Empty(t, ledger)
					if beat {
						require.Equal(t, progress.Counts.Requests+clean.Stats().Total, res.Counts.Requests)
					}
				})
			})
		}
	}
}

// corruptTarget picks the list of the kind short to spoil on page: for the
// pipeline list, the page itself (index 0, no match); for workflow lists, the
// last pipeline of the page whose list spans two pages (so that
// page_token_cycle has a continuation request to spoil, and the pipelines
// before it are written first); for job lists, a two-page job list of the
// last pipeline that has one. It returns the pipeline's index on the page
// and the id to put in Corruption.Match.
func corruptTarget(t *testing.T, ex circlecitest.Expected, page []circlecitest.Pipeline, short string) (int, string) {
	t.Helper()
	if short == "project_pipelines" {
		require.Greater(t, len(projectPipelines(ex, page[0].ProjectSlug)), circlecitest.PageSize, "the list spans two pages")
		return 0, ""
	}
	wfs, jobs := map[string]int{}, map[string]int{}
	for _, w := range ex.Workflows {
		wfs[w.PipelineID]++
	}
	for _, j := range ex.Jobs {
		jobs[j.WorkflowID]++
	}
	for i := len(page) - 1; i > 0; i-- {
		p := page[i]
		if short == "pipeline_workflows" && wfs[p.ID] > circlecitest.PageSize {
			return i, p.ID
		}
		if short == "workflow_jobs" {
			for _, w := range ex.Workflows {
				if w.PipelineID == p.ID && jobs[w.ID] > circlecitest.PageSize {
					return i, w.ID
				}
			}
		}
	}
	t.Fatalf("no %s list of two pages past the first pipeline: change the dataset", short)
	return 0, ""
}

// withoutChildren drops from r the workflows of pipeline id (and their jobs),
// or the jobs of workflow id.
func withoutChildren(r pageRows, id string) pageRows {
	var out pageRows
	out.pipelines = r.pipelines
	dropped := map[string]bool{}
	for _, w := range r.workflows {
		cols := strings.Split(w, "|")
		if cols[1] == id {
			dropped[cols[0]] = true
			continue
		}
		out.workflows = append(out.workflows, w)
	}
	for _, j := range r.jobs {
		cols := strings.Split(j, "|")
		if cols[1] == id || dropped[cols[1]] {
			continue
		}
		out.jobs = append(out.jobs, j)
	}
	return out
}

// TestSyncPipelinePageHTMLErrorOnce: a single proxy error page on the pipeline
// list, a workflow list or a job list is absorbed by the activity's own retry.
func TestSyncPipelinePageHTMLErrorOnce(t *testing.T) {
	for _, rc := range corruptRoutes {
		t.Run(rc.short, func(t *testing.T) {
			f := newFixture(t, rc.opts, openSQLite(t))
			slug := firstProject(f)
			ex := f.srv.Expected(testToken)
			page := projectPipelines(ex, slug)
			page = page[:min(len(page), circlecitest.PageSize)]
			f.srv.SetFaults(circlecitest.Faults{Corrupt: []circlecitest.Corruption{{Route: rc.short, Kind: circlecitest.CorruptHTMLError, First: 1}}})
			var res PageResult
			require.NoError(t, run(t, f.a.SyncPipelinePage, PageInput{Connection: f.conn, ProjectSlug: slug, PageNumber: 1}, &res))
			require.Zero(t, res.Counts.Skipped)
			require.Equal(t, expectedRows(ex, page), storedRows(t, f.tdb))
			st := f.srv.Stats()
			require.EqualValues(t, 1, st.Corrupted[circlecitest.CorruptHTMLError])
			require.EqualValues(t, 1, st.CountStatus(502))
		})
	}
}
