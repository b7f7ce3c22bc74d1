package circleci

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestJobDetailsDecode(t *testing.T) {
	c, rec, _ := newTestClient(t, jsonBody(http.StatusOK, `{"number":7,"name":"test","status":"success",
		"web_url":"https://app/j/7","queued_at":"2026-01-01T00:00:00Z","started_at":"2026-01-01T00:01:00Z",
		"stopped_at":"2026-01-01T00:03:00Z","duration":120000,"parallelism":2,
		"executor":{"resource_class":"large","type":"docker"},"contexts":[{"name":"aws"}],
		"latest_workflow":{"id":"w2","name":"build"},"pipeline":{"id":"p1"},"extra":1}`))
	d, err := c.JobDetails(t.Context(), "gh/o/r", 7)
	require.NoError(t, err)
	require.Equal(t, "/api/v2/project/gh%2Fo%2Fr/job/7", rec.all()[0].EscapedPath)
	require.Equal(t, "gh/o/r", d.ProjectSlug)
	require.Equal(t, int64(120000), *d.Duration)
	require.Equal(t, "large", d.Executor.ResourceClass)
	require.Equal(t, "w2", d.LatestWorkflow.ID)
	require.Equal(t, []JobContext{{Name: "aws"}}, d.Contexts)
	require.Contains(t, string(d.Raw), `"extra":1`)

	_, err = c.JobDetails(t.Context(), "", 7)
	requireClass(t, err, ClassBadRequest)
}

func TestJobTestsAndNotFound(t *testing.T) {
	c, rec, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("page-token") {
		case "":
			jsonBody(http.StatusOK, `{"items":[{"message":null,"source":"junit","run_time":0.5,"file":"f",
				"result":"success","name":"a","classname":"c"}],"next_page_token":"t2"}`)(w, r)
		default:
			jsonBody(http.StatusOK, `{"items":[{"message":"boom","source":"junit","run_time":1.25,"file":"f",
				"result":"failure","name":"b","classname":"c"}],"next_page_token":null}`)(w, r)
		}
	})
	var got []TestResult
	for r, err := range c.JobTests(t.Context(), "gh/o/r", 9) {
		require.NoError(t, err)
		got = append(got, r)
	}
	require.Len(t, got, 2)
	require.Nil(t, got[0].Message)
	require.Equal(t, "boom", *got[1].Message)
	require.Equal(t, 1.25, got[1].RunTime)
	require.Equal(t, "/api/v2/project/gh%2Fo%2Fr/9/tests", rec.all()[0].EscapedPath)

	nf, _, _ := newTestClient(t, jsonBody(http.StatusNotFound, `{"message":"Not Found"}`))
	_, err := nf.JobDetails(t.Context(), "gh/o/r", 1)
	require.Equal(t, NotFoundExpired, requireClass(t, err, ClassNotFound).NotFoundKind())
	pm, _, _ := newTestClient(t, jsonBody(http.StatusNotFound, `{"message":"Project not found"}`))
	_, err = pm.JobTestsPage(t.Context(), "gh/o/r", 1, "")
	require.True(t, requireClass(t, err, ClassNotFound).ProjectMissing())
}
