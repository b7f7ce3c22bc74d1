package circlecitest

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStatsCountRouteTemplates(t *testing.T) {
	s := NewServer(Options{Faults: Faults{BrokenPipelines: 1}})
	defer s.Close()
	d := s.Dataset()
	call(t, s, "/api/v2/me", s.Token())
	call(t, s, "/api/v2/me", "bad")
	call(t, s, projectPath(d.Projects[0].Slug)+"/pipeline", s.Token())
	call(t, s, "/api/v2/project/"+d.Projects[1].Slug+"/pipeline", s.Token()) // raw slug: same template
	call(t, s, "/api/v2/pipeline/"+d.Pipelines[0].ID+"/workflow", s.Token())
	call(t, s, "/api/v2/pipeline/"+d.BrokenPipelines[0]+"/workflow", s.Token())
	call(t, s, "/api/v2/workflow/"+d.Workflows[0].ID+"/job", s.Token())
	call(t, s, "/api/v2/user/"+d.Users[0].ID, s.Token())
	call(t, s, "/api/v1.1/projects", s.Token())
	call(t, s, "/api/v2/nope", s.Token())
	call(t, s, "/_fake/dataset", "") // control routes are not counted

	st := s.Stats()
	assert.EqualValues(t, 10, st.Total)
	assert.EqualValues(t, 1, st.Requests["GET /api/v2/me"][200])
	assert.EqualValues(t, 1, st.Requests["GET /api/v2/me"][401])
	assert.EqualValues(t, 2, st.Requests["GET /api/v2/project/{project-slug}/pipeline"][200])
	assert.EqualValues(t, 1, st.Requests["GET /api/v2/pipeline/{pipeline-id}/workflow"][200])
	assert.EqualValues(t, 1, st.Requests["GET /api/v2/pipeline/{pipeline-id}/workflow"][500])
	assert.EqualValues(t, 1, st.Requests["GET /api/v2/workflow/{id}/job"][200])
	assert.EqualValues(t, 1, st.Requests["GET /api/v2/user/{id}"][200])
	assert.EqualValues(t, 1, st.Requests["GET /api/v1.1/projects"][200])
	assert.EqualValues(t, 1, st.Requests["GET (unmatched)"][404])
	assert.EqualValues(t, 2, st.Count(RouteMe, 0))
	assert.EqualValues(t, 1, st.CountStatus(500))
	assert.EqualValues(t, 1, st.MaxConcurrent)
	assert.Zero(t, st.RetryAfterSent)

	// Over HTTP, then reset.
	r, err := http.Get(s.URL + "/_fake/stats")
	require.NoError(t, err)
	var viaHTTP Stats
	require.NoError(t, json.NewDecoder(r.Body).Decode(&viaHTTP))
	r.Body.Close()
	assert.Equal(t, st, viaHTTP)

	r, err = http.Post(s.URL+"/_fake/stats/reset", "", nil)
	require.NoError(t, err)
	r.Body.Close()
	assert.Equal(t, http.StatusOK, r.StatusCode)
	st = s.Stats()
	assert.Zero(t, st.Total)
	assert.Empty(t, st.Requests)
	assert.Zero(t, st.MaxConcurrent)
}

func TestControlRoutes(t *testing.T) {
	s := NewServer(Options{Seed: 2, LimitedToken: "lim"})
	defer s.Close()
	r, err := http.Get(s.URL + "/_fake/dataset")
	require.NoError(t, err)
	var d Dataset
	require.NoError(t, json.NewDecoder(r.Body).Decode(&d))
	r.Body.Close()
	assert.Equal(t, s.Dataset(), d)

	r, err = http.Get(s.URL + "/_fake/expected?token=lim")
	require.NoError(t, err)
	var ex Expected
	require.NoError(t, json.NewDecoder(r.Body).Decode(&ex))
	r.Body.Close()
	assert.Equal(t, s.Expected("lim"), ex)

	r, err = http.Get(s.URL + "/_fake/health")
	require.NoError(t, err)
	r.Body.Close()
	assert.Equal(t, http.StatusOK, r.StatusCode)

	r, err = http.Get(s.URL + "/_fake/nothing")
	require.NoError(t, err)
	r.Body.Close()
	assert.Equal(t, http.StatusNotFound, r.StatusCode)
}
