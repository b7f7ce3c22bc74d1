package circlecitest

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// insightsPath is the runs path of a workflow name, both escaped.
func insightsPath(slug, name string) string {
	return "/api/v2/insights/" + url.PathEscape(slug) + "/workflows/" + url.PathEscape(name)
}

// TestInsightsRuns: all branches, newest first over two pages, terminal runs only,
// snake_case items without a pipeline id, equal to InsightsRunIDs.
func TestInsightsRuns(t *testing.T) {
	s := NewServer(Options{Seed: 3, PipelinesPerProject: 45})
	defer s.Close()
	d := s.Dataset()
	slug := d.Projects[0].Slug
	items, pages := walk(t, s, insightsPath(slug, "build-and-test"), "all-branches", "true")
	require.Greater(t, pages, 1, "two pages at least")
	assert.Equal(t, s.InsightsRunIDs(slug, "build-and-test", time.Time{}), ids(items))
	raw, _ := walk(t, s, "/api/v2/insights/"+slug+"/workflows/build-and-test", "all-branches", "true")
	assert.Equal(t, ids(items), ids(raw), "slug slashes raw or escaped")
	wfs := map[string]Workflow{}
	for _, wf := range d.Workflows {
		wfs[wf.ID] = wf
	}
	for i, it := range items {
		for _, k := range []string{"id", "branch", "duration", "created_at", "stopped_at", "credits_used", "status", "is_approval"} {
			assert.Contains(t, it, k)
		}
		assert.NotContains(t, it, "pipeline_id")
		assert.NotContains(t, it, "pipeline_number")
		wf := wfs[it["id"].(string)]
		assert.Equal(t, "build-and-test", wf.Name)
		assert.Equal(t, slug, wf.ProjectSlug)
		assert.True(t, isTerminalWorkflow(wf.Status) && wf.Status != "not_run", wf.Status)
		assert.Equal(t, wf.Status, it["status"])
		assert.EqualValues(t, int64(wf.StoppedAt.Sub(wf.CreatedAt)/time.Second), it["duration"])
		assert.Equal(t, false, it["is_approval"])
		if i > 0 {
			assert.GreaterOrEqual(t, items[i-1]["created_at"], it["created_at"], "newest first")
		}
	}
	var running int
	for _, wf := range d.Workflows {
		if wf.ProjectSlug == slug && wf.Name == "build-and-test" && !isTerminalWorkflow(wf.Status) {
			running++
			assert.NotContains(t, ids(items), wf.ID)
		}
	}
	assert.Positive(t, running, "a running workflow is left out")
}

// TestInsightsRunsBranchesAndDates: the default branch unless told otherwise, and
// the start-date/end-date window.
func TestInsightsRunsBranchesAndDates(t *testing.T) {
	s := NewServer(Options{Seed: 3, PipelinesPerProject: 45})
	defer s.Close()
	d := s.Dataset()
	slug := d.Projects[0].Slug
	path := insightsPath(slug, "build-and-test")
	all, _ := walk(t, s, path, "all-branches", "true")
	def, _ := walk(t, s, path)
	main, _ := walk(t, s, path, "branch", d.Projects[0].VCSInfo.DefaultBranch)
	assert.Equal(t, ids(main), ids(def))
	assert.Less(t, len(def), len(all))
	for _, it := range def {
		assert.Equal(t, d.Projects[0].VCSInfo.DefaultBranch, it["branch"])
	}
	// all-branches wins over branch.
	both, _ := walk(t, s, path, "all-branches", "true", "branch", "nope")
	assert.Equal(t, ids(all), ids(both))

	mid, err := time.Parse(time.RFC3339, all[len(all)/2]["created_at"].(string))
	require.NoError(t, err)
	start := mid.Format(time.RFC3339Nano)
	after, _ := walk(t, s, path, "all-branches", "true", "start-date", start)
	assert.Equal(t, ids(all[:len(all)/2+1]), ids(after), "created at or after start-date")
	before, _ := walk(t, s, path, "all-branches", "true", "start-date", d.Now.Add(-89*24*time.Hour).Format(time.RFC3339),
		"end-date", start)
	assert.Equal(t, ids(all[len(all)/2+1:]), ids(before), "created before end-date")
	old, _ := walk(t, s, path, "all-branches", "true", "start-date", "2000-01-01T00:00:00Z")
	assert.Equal(t, ids(all), ids(old), "a start past the horizon is clamped")
}

// TestInsightsRunsErrors: 400 for bad dates and windows, 404 for an unknown name or
// project, and a page token only works on its own list.
func TestInsightsRunsErrors(t *testing.T) {
	s := NewServer(Options{Seed: 3, PipelinesPerProject: 45})
	defer s.Close()
	slug := s.Dataset().Projects[0].Slug
	path := insightsPath(slug, "build-and-test")
	for _, q := range [][]string{
		{"start-date", "yesterday"},
		{"end-date", "2025-12-01T00:00:00Z"},
		{"start-date", "2025-01-01T00:00:00Z", "end-date", "2025-06-01T00:00:00Z"},
		{"all-branches", "maybe"},
	} {
		r := call(t, s, withQuery(path, q...), s.Token())
		assert.Equal(t, http.StatusBadRequest, r.status, "%v", q)
		assert.Contains(t, message(t, r), "Invalid input", "%v", q)
	}
	r := call(t, s, insightsPath(slug, "no-such-workflow"), s.Token())
	assert.Equal(t, http.StatusNotFound, r.status)
	assert.Equal(t, msgWorkflowNotFound, message(t, r))
	r = call(t, s, insightsPath("gh/acme/no-such-repo", "build-and-test"), s.Token())
	assert.Equal(t, http.StatusNotFound, r.status)
	assert.Equal(t, msgProjectNotFound, message(t, r))

	var p page
	get(t, s, withQuery(path, "all-branches", "true"), &p)
	require.NotNil(t, p.NextPageToken)
	for _, other := range []string{withQuery(insightsPath(slug, "deploy"), "all-branches", "true"), path} {
		r := call(t, s, withQuery(other, "page-token", *p.NextPageToken), s.Token())
		assert.Equal(t, http.StatusBadRequest, r.status, "a token of another list: %s", other)
	}
}

// TestInsightsLag: a run shows once it stopped InsightsLag ago.
func TestInsightsLag(t *testing.T) {
	s := NewServer(Options{Seed: 3, InsightsLag: 2 * time.Hour})
	defer s.Close()
	res := s.Advance(Advance{FinishRunning: true, Step: time.Hour})
	require.NotEmpty(t, res.FinishedWorkflows)
	d := s.Dataset()
	var wf Workflow
	for _, w := range d.Workflows {
		if w.ID == res.FinishedWorkflows[0] {
			wf = w
		}
	}
	listed := func() bool { return slices.Contains(s.InsightsRunIDs(wf.ProjectSlug, wf.Name, time.Time{}), wf.ID) }
	assert.False(t, listed(), "finished less than the lag ago")
	items, _ := walk(t, s, insightsPath(wf.ProjectSlug, wf.Name), "all-branches", "true")
	assert.NotContains(t, ids(items), wf.ID)
	s.Advance(Advance{Step: 2 * time.Hour})
	assert.True(t, listed(), "past the lag")
	items, _ = walk(t, s, insightsPath(wf.ProjectSlug, wf.Name), "all-branches", "true")
	assert.Contains(t, ids(items), wf.ID)
}

// TestInsightsOddNames: names with spaces, '/', '%' and unicode are one escaped path
// segment; a raw '/' splits the name and matches nothing.
func TestInsightsOddNames(t *testing.T) {
	s := NewServer(Options{Seed: 3, OddProjects: 2, OddWorkflowNames: true})
	defer s.Close()
	d := s.Dataset()
	odd := d.Projects[len(d.Projects)-2]
	seen := map[string]bool{}
	for _, wf := range d.Workflows {
		if wf.ProjectSlug == odd.Slug {
			seen[wf.Name] = true
		}
	}
	require.True(t, seen["deploy/prod"] && seen["build and test"], "%v", seen)
	for name := range seen {
		items, _ := walk(t, s, insightsPath(odd.Slug, name), "all-branches", "true")
		assert.Equal(t, s.InsightsRunIDs(odd.Slug, name, time.Time{}), ids(items), name)
	}
	raw := "/api/v2/insights/" + url.PathEscape(odd.Slug) + "/workflows/deploy/prod"
	assert.Equal(t, http.StatusNotFound, call(t, s, raw, s.Token()).status)
}

// TestInsightsWorkflows: one summary per name with runs in the reporting window.
func TestInsightsWorkflows(t *testing.T) {
	s := NewServer(Options{Seed: 3, PipelinesPerProject: 45})
	defer s.Close()
	p := s.Dataset().Projects[0]
	items, _ := walk(t, s, "/api/v2/insights/"+url.PathEscape(p.Slug)+"/workflows", "all-branches", "true")
	var names []string
	for _, it := range items {
		names = append(names, it["name"].(string))
		assert.Equal(t, p.ID, it["project_id"])
		m := it["metrics"].(map[string]any)
		for _, k := range []string{"total_runs", "successful_runs", "mttr", "total_credits_used", "failed_runs",
			"success_rate", "duration_metrics", "total_recoveries", "throughput"} {
			assert.Contains(t, m, k)
		}
		assert.Contains(t, it, "window_start")
	}
	assert.Contains(t, names, "build-and-test")
	assert.True(t, slices.IsSorted(names))
	day, _ := walk(t, s, "/api/v2/insights/"+url.PathEscape(p.Slug)+"/workflows", "all-branches", "true",
		"reporting-window", "last-24-hours")
	assert.LessOrEqual(t, len(day), len(items))
	r := call(t, s, "/api/v2/insights/"+url.PathEscape(p.Slug)+"/workflows?reporting-window=last-year", s.Token())
	assert.Equal(t, http.StatusBadRequest, r.status)
}
