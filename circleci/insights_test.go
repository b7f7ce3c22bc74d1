package circleci_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
)

// collectRuns reads every run of a workflow name through the client's iterator.
func collectRuns(t *testing.T, c *circleci.Client, slug, name string, q circleci.RunsQuery) []circleci.WorkflowRun {
	t.Helper()
	var out []circleci.WorkflowRun
	for r, err := range c.WorkflowRuns(context.Background(), slug, name, q) {
		require.NoError(t, err)
		out = append(out, r)
	}
	return out
}

func runIDs(runs []circleci.WorkflowRun) []string {
	out := []string{}
	for _, r := range runs {
		out = append(out, r.ID)
	}
	return out
}

// TestWorkflowRunsFromFake: the runs of a name over two pages, equal to the fake's
// truth, decoded with their nullable fields, and the workflow of each run by id.
func TestWorkflowRunsFromFake(t *testing.T) {
	s := startFake(t, circlecitest.Options{Seed: 3, PipelinesPerProject: 45})
	c := newClient(t, s, fullToken)
	slug := s.Dataset().Projects[0].Slug
	runs := collectRuns(t, c, slug, "build-and-test", circleci.RunsQuery{AllBranches: true})
	require.Greater(t, len(runs), circlecitest.PageSize, "two pages")
	assert.Equal(t, s.InsightsRunIDs(slug, "build-and-test", time.Time{}), runIDs(runs))
	for _, r := range runs[:3] {
		require.NotNil(t, r.Status)
		require.NotNil(t, r.StoppedAt)
		require.NotNil(t, r.Duration)
		assert.Equal(t, int64(r.StoppedAt.Sub(r.CreatedAt)/time.Second), *r.Duration)
		assert.NotContains(t, string(r.Raw), "pipeline_id")
		wf, err := c.Workflow(context.Background(), r.ID)
		require.NoError(t, err)
		assert.Equal(t, "build-and-test", wf.Name)
		assert.Equal(t, *r.Status, wf.Status)
		assert.NotEmpty(t, wf.PipelineID, "GET /workflow/{id} gives the pipeline")
	}

	// The filters go with every page: a start date keeps the newer runs only.
	start := runs[len(runs)/2].CreatedAt
	newer := collectRuns(t, c, slug, "build-and-test", circleci.RunsQuery{AllBranches: true, Start: start})
	assert.Equal(t, runIDs(runs[:len(runs)/2+1]), runIDs(newer))
	end := start.Truncate(time.Second) // sent as is; a fraction would be rounded up
	var want []circleci.WorkflowRun
	for _, r := range runs {
		if r.CreatedAt.Before(end) {
			want = append(want, r)
		}
	}
	older := collectRuns(t, c, slug, "build-and-test", circleci.RunsQuery{AllBranches: true,
		Start: s.Now().Add(-80 * 24 * time.Hour), End: end})
	assert.Equal(t, runIDs(want), runIDs(older))
	assert.NotEmpty(t, want)
	def := collectRuns(t, c, slug, "build-and-test", circleci.RunsQuery{})
	main := collectRuns(t, c, slug, "build-and-test", circleci.RunsQuery{Branch: "main"})
	assert.Equal(t, runIDs(main), runIDs(def))
	assert.Less(t, len(def), len(runs))
}

// TestWorkflowRunsOddNames: names with spaces, '/', '%' and unicode are sent as one
// escaped segment.
func TestWorkflowRunsOddNames(t *testing.T) {
	s := startFake(t, circlecitest.Options{Seed: 3, OddProjects: 2, OddWorkflowNames: true})
	c := newClient(t, s, fullToken)
	d := s.Dataset()
	slug := d.Projects[len(d.Projects)-2].Slug
	for _, name := range circlecitest.OddWorkflowNames[:3] {
		want := s.InsightsRunIDs(slug, name, time.Time{})
		assert.Equal(t, want, runIDs(collectRuns(t, c, slug, name, circleci.RunsQuery{AllBranches: true})), name)
	}
	var names []string
	for sum, err := range c.InsightsWorkflows(context.Background(), slug, circleci.SummaryQuery{AllBranches: true}) {
		require.NoError(t, err)
		names = append(names, sum.Name)
		assert.NotEmpty(t, sum.ProjectID)
		assert.Positive(t, sum.Metrics.TotalRuns)
	}
	assert.Contains(t, names, "deploy/prod")
	assert.True(t, slices.IsSorted(names))
}

// TestWorkflowRunsEscapesName: the exact path sent for a name with spaces and '/'.
func TestWorkflowRunsEscapesName(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.EscapedPath() + "?" + r.URL.RawQuery
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"items":[],"next_page_token":null}`))
	}))
	defer srv.Close()
	c, err := circleci.New(circleci.Options{BaseURL: srv.URL, Token: fullToken, Limiter: fastLimiter()})
	require.NoError(t, err)
	start := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	_, err = c.WorkflowRunsPage(context.Background(), "gh/acme/my repo", "deploy / prod v2",
		circleci.RunsQuery{AllBranches: true, Start: start, End: start.Add(time.Hour)}, "tok+/=")
	require.NoError(t, err)
	assert.Equal(t, "/api/v2/insights/gh%2Facme%2Fmy%20repo/workflows/deploy%20%2F%20prod%20v2?"+
		"all-branches=true&end-date=2026-01-02T04%3A04%3A06Z&page-token=tok%2B%2F%3D&start-date=2026-01-02T03%3A04%3A05Z", got)

	_, err = c.WorkflowRunsPage(context.Background(), "gh/acme/api", "", circleci.RunsQuery{}, "")
	assert.Equal(t, circleci.ClassBadRequest, circleci.ClassOf(err))
	_, err = c.WorkflowRunsPage(context.Background(), "gh/acme/api", "x", circleci.RunsQuery{End: start}, "")
	assert.Equal(t, circleci.ClassBadRequest, circleci.ClassOf(err))
}

// TestInsightsErrors: an unknown name is NotFoundWorkflowName, an unknown project
// NotFoundProject, and garbage a ClassDecode error (the activities' bad_response).
func TestInsightsErrors(t *testing.T) {
	s := startFake(t, circlecitest.Options{Seed: 3})
	c := newClient(t, s, fullToken)
	slug := s.Dataset().Projects[0].Slug
	_, err := c.WorkflowRunsPage(context.Background(), slug, "no such workflow", circleci.RunsQuery{}, "")
	e, ok := circleci.AsError(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, circleci.NotFoundWorkflowName, e.NotFoundKind())
	assert.Equal(t, circleci.RouteInsightsRuns, e.Route)
	assert.NotContains(t, err.Error(), "no such workflow", "names stay out of errors")
	for _, page := range []func() error{
		func() error {
			_, err := c.WorkflowRunsPage(context.Background(), "gh/acme/nope", "build-and-test", circleci.RunsQuery{}, "")
			return err
		},
		func() error {
			_, err := c.InsightsWorkflowsPage(context.Background(), "gh/acme/nope", circleci.SummaryQuery{}, "")
			return err
		},
	} {
		e, ok := circleci.AsError(page())
		require.True(t, ok)
		assert.Equal(t, circleci.NotFoundProject, e.NotFoundKind())
	}

	reads := map[string]func() error{
		"insights_runs": func() error {
			_, err := c.WorkflowRunsPage(context.Background(), slug, "build-and-test", circleci.RunsQuery{}, "")
			return err
		},
		"insights_workflows": func() error {
			_, err := c.InsightsWorkflowsPage(context.Background(), slug, circleci.SummaryQuery{}, "")
			return err
		},
	}
	for route, read := range reads {
		for _, kind := range []circlecitest.CorruptionKind{circlecitest.CorruptMalformedJSON, circlecitest.CorruptWrongTypes,
			circlecitest.CorruptTruncated, circlecitest.CorruptHTMLError} {
			s.SetFaults(circlecitest.Faults{Corrupt: []circlecitest.Corruption{{Route: route, Kind: kind, First: 1}}})
			err := read()
			want := circleci.ClassDecode // garbage: the activities' bad_response
			switch kind {
			case circlecitest.CorruptHTMLError:
				want = circleci.ClassServer // a proxy's 502 page: retried like any 5xx
			case circlecitest.CorruptTruncated:
				want = circleci.ClassTransport // a cut body, as on the other routes
			}
			assert.Equal(t, want, circleci.ClassOf(err), "%s on %s: %v", kind, route, err)
			assert.NoError(t, read(), "%s on %s: the next answer is fine", kind, route)
		}
	}
}
