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

// TestInsightsNameSummary: the summary of one name equals its item in the 90-day
// workflows list, on all branches and on the default branch; the success rate leaves
// canceled runs out, counted here from the dataset.
func TestInsightsNameSummary(t *testing.T) {
	s := NewServer(Options{Seed: 3, PipelinesPerProject: 45})
	defer s.Close()
	d := s.Dataset()
	p := d.Projects[0]
	path := insightsPath(p.Slug, "build-and-test") + "/summary"
	var all, def, main nameSummaryAnswer
	get(t, s, withQuery(path, "all-branches", "true"), &all)
	get(t, s, path, &def)
	get(t, s, withQuery(path, "branch", p.VCSInfo.DefaultBranch), &main)
	assert.Equal(t, main, def, "the default branch unless told")
	assert.Less(t, def.Metrics.TotalRuns, all.Metrics.TotalRuns)
	for _, k := range []string{"total_runs", "failed_runs", "success_rate", "p95_duration_secs",
		"median_duration_secs", "total_credits_used", "mttr", "throughput"} {
		assert.Contains(t, all.Trends, k)
	}

	var list struct {
		Items []struct {
			Name    string          `json:"name"`
			Metrics wireRunsMetrics `json:"metrics"`
		} `json:"items"`
	}
	get(t, s, withQuery("/api/v2/insights/"+url.PathEscape(p.Slug)+"/workflows", "all-branches", "true"), &list)
	var item wireRunsMetrics
	for _, it := range list.Items {
		if it.Name == "build-and-test" {
			item = it.Metrics
		}
	}
	m := all.Metrics
	assert.Equal(t, item.TotalRuns, m.TotalRuns)
	assert.Equal(t, item.MTTR, m.MTTR)
	assert.Equal(t, item.DurationMetrics, m.DurationMetrics)
	assert.InDelta(t, item.Throughput, m.Throughput, 1e-9)

	var total, success, canceled, completed int64
	for _, wf := range d.Workflows {
		if wf.ProjectSlug != p.Slug || wf.Name != "build-and-test" || wf.CreatedAt.After(d.Now.Add(-DefaultInsightsLag)) {
			continue
		}
		total++
		switch wf.Status {
		case "success":
			success++
		case "canceled":
			canceled++
		}
		if isTerminalWorkflow(wf.Status) && wf.Status != "not_run" {
			completed++
		}
	}
	assert.Equal(t, total, m.TotalRuns)
	assert.Equal(t, success, m.SuccessfulRuns)
	assert.InDelta(t, float64(success)/float64(total-canceled), m.SuccessRate, 1e-9)
	require.NotNil(t, m.CompletedRuns)
	assert.Equal(t, completed, *m.CompletedRuns)
	assert.InDelta(t, float64(total)/90, m.Throughput, 1e-9)
	assert.False(t, m.WindowEnd.Before(m.WindowStart))
	assert.Contains(t, all.WorkflowNames, "build-and-test")
	assert.True(t, slices.IsSorted(all.WorkflowNames))
}

// TestInsightsNameSummaryErrors: 404 for an unknown name or project, 400 for a bad
// all-branches; a name without runs on a branch has zero runs and null durations.
func TestInsightsNameSummaryErrors(t *testing.T) {
	s := NewServer(Options{Seed: 3, PipelinesPerProject: 45})
	defer s.Close()
	slug := s.Dataset().Projects[0].Slug
	r := call(t, s, insightsPath(slug, "no-such-workflow")+"/summary", s.Token())
	assert.Equal(t, http.StatusNotFound, r.status)
	assert.Equal(t, msgWorkflowNotFound, message(t, r))
	r = call(t, s, insightsPath("gh/acme/no-such-repo", "build-and-test")+"/summary", s.Token())
	assert.Equal(t, http.StatusNotFound, r.status)
	r = call(t, s, insightsPath(slug, "build-and-test")+"/summary?all-branches=maybe", s.Token())
	assert.Equal(t, http.StatusBadRequest, r.status)

	var none nameSummaryAnswer
	get(t, s, withQuery(insightsPath(slug, "build-and-test")+"/summary", "branch", "no-such-branch"), &none)
	assert.Zero(t, none.Metrics.TotalRuns)
	assert.Zero(t, none.Metrics.SuccessRate)
	assert.Nil(t, none.Metrics.MTTR)
	assert.Nil(t, none.Metrics.DurationMetrics.P95)
}

// nameSummaryAnswer decodes a summary answer.
type nameSummaryAnswer struct {
	Metrics struct {
		TotalRuns       int64               `json:"total_runs"`
		SuccessfulRuns  int64               `json:"successful_runs"`
		FailedRuns      int64               `json:"failed_runs"`
		MTTR            *int64              `json:"mttr"`
		SuccessRate     float64             `json:"success_rate"`
		CompletedRuns   *int64              `json:"completed_runs"`
		WindowStart     time.Time           `json:"window_start"`
		WindowEnd       time.Time           `json:"window_end"`
		DurationMetrics wireDurationMetrics `json:"duration_metrics"`
		Throughput      float64             `json:"throughput"`
	} `json:"metrics"`
	Trends        map[string]float64 `json:"trends"`
	WorkflowNames []string           `json:"workflow_names"`
}
