package circlecitest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestJobDetailsAndTests: every terminal numbered job the truth lists answers its
// details and its tests (all pages) as the truth says; unknown numbers answer 404.
func TestJobDetailsAndTests(t *testing.T) {
	s := NewServer(Options{Seed: 5, Projects: 2, PipelinesPerProject: 4})
	defer s.Close()
	details := s.ExpectedJobDetails(s.Token())
	require.NotEmpty(t, details)
	for _, d := range details {
		var got map[string]any
		get(t, s, projectPath(d.ProjectSlug)+"/job/"+strconv.FormatInt(d.Number, 10), &got)
		require.Equal(t, d.WebURL, got["web_url"])
		require.Equal(t, d.LatestWorkflow, got["latest_workflow"].(map[string]any)["id"])
		require.Equal(t, d.ResourceClass, got["executor"].(map[string]any)["resource_class"])
		require.EqualValues(t, *d.DurationMS, got["duration"])
		require.False(t, d.QueuedAt.After(d.StartedAt), "queued before started")
	}
	tests, requests := s.ExpectedTests(s.Token(), nil)
	require.Len(t, tests, len(details))
	var withResults, oversized, multi, total int
	for _, tt := range tests {
		items, pages := walk(t, s, projectPath(tt.ProjectSlug)+"/"+strconv.FormatInt(tt.Number, 10)+"/tests")
		want, err := json.Marshal(tt.Results)
		require.NoError(t, err)
		gotJSON, err := json.Marshal(items)
		require.NoError(t, err)
		if len(items) == 0 {
			gotJSON = []byte("[]")
		}
		require.JSONEq(t, string(want), string(gotJSON), "%s/%d", tt.ProjectSlug, tt.Number)
		total += pages
		if len(items) > 0 {
			withResults++
		}
		if tt.Oversized {
			oversized++
		}
		if pages > 1 {
			multi++
		}
	}
	require.Equal(t, requests, total, "the truth's request count is the pages walked")
	require.Positive(t, withResults)
	require.Positive(t, multi)
	t.Logf("%d jobs, %d with results, %d oversized, %d over several pages", len(tests), withResults, oversized, multi)

	slug := details[0].ProjectSlug
	require.Equal(t, http.StatusNotFound, call(t, s, projectPath(slug)+"/job/99999999", s.Token()).status)
	require.Equal(t, http.StatusNotFound, call(t, s, projectPath(slug)+"/99999999/tests", s.Token()).status)
	require.Equal(t, http.StatusNotFound, call(t, s, projectPath(slug)+"/job/x", s.Token()).status)
}

// TestBigTestJob: Options.BigTestJob gives one job that many results, paged.
func TestBigTestJob(t *testing.T) {
	s := NewServer(Options{Seed: 5, Projects: 1, PipelinesPerProject: 2, BigTestJob: 1000})
	defer s.Close()
	tests, _ := s.ExpectedTests(s.Token(), nil)
	var big *TestsTruth
	for i := range tests {
		if len(tests[i].Results) == 1000 {
			big = &tests[i]
		}
	}
	require.NotNil(t, big)
	items, pages := walk(t, s, projectPath(big.ProjectSlug)+"/"+strconv.FormatInt(big.Number, 10)+"/tests")
	require.Len(t, items, 1000)
	require.Equal(t, 1000/PageSize, pages)
}
