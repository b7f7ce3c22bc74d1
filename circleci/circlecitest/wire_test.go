package circlecitest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWireShapes(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	d := s.Dataset()

	// Collaborations: a bare array spelled vcs_type, one id null.
	r := call(t, s, "/api/v2/me/collaborations", s.Token())
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "application/json;charset=utf-8", r.header.Get("Content-Type"))
	var collabs []map[string]any
	require.NoError(t, json.Unmarshal(r.body, &collabs))
	nullIDs := 0
	for _, c := range collabs {
		assert.Contains(t, c, "vcs_type")
		assert.NotContains(t, c, "vcs-type")
		if c["id"] == nil {
			nullIDs++
		}
	}
	assert.Equal(t, 1, nullIDs)

	// A job that never started: started_at present and null, no job_number.
	var unstarted Job
	for _, j := range d.Jobs {
		if j.StartedAt == nil {
			unstarted = j
			break
		}
	}
	require.NotEmpty(t, unstarted.ID)
	items, _ := walk(t, s, "/api/v2/workflow/"+unstarted.WorkflowID+"/job")
	for _, it := range items {
		if it["id"] == unstarted.ID {
			v, ok := it["started_at"]
			assert.True(t, ok)
			assert.Nil(t, v)
			assert.NotContains(t, it, "job_number")
		}
	}

	// A circleci/… pipeline has no vcs but trigger_parameters.git.
	pp, _ := walk(t, s, projectPath(d.Projects[2].Slug)+"/pipeline")
	assert.NotContains(t, pp[0], "vcs")
	assert.Contains(t, pp[0]["trigger_parameters"], "git")
	// A gh pipeline has vcs and no trigger_parameters.
	gp, _ := walk(t, s, projectPath(d.Projects[0].Slug)+"/pipeline")
	assert.Contains(t, gp[0], "vcs")
	assert.Contains(t, gp[0], "errors")
	assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`, gp[0]["created_at"])

	// v1.1 followed projects: JSON when asked, EDN otherwise.
	var followed []map[string]any
	get(t, s, "/api/v1.1/projects", &followed)
	require.Len(t, followed, 3)
	for _, f := range followed {
		assert.Equal(t, false, f["following"])
		assert.Equal(t, map[string]any{}, f["branches"])
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/v1.1/projects", nil)
	req.Header.Set("Circle-Token", s.Token())
	edn := do(t, s, req)
	assert.Equal(t, http.StatusOK, edn.status)
	assert.Contains(t, edn.header.Get("Content-Type"), "application/edn")
	assert.True(t, strings.HasPrefix(string(edn.body), "[{:branches {}, "), string(edn.body))
	assert.False(t, json.Valid(edn.body))

	// Pipeline by number.
	var byNumber map[string]any
	get(t, s, projectPath(d.Projects[0].Slug)+"/pipeline/"+jsonNumber(gp[3]["number"]), &byNumber)
	assert.Equal(t, gp[3]["id"], byNumber["id"])
}

func jsonNumber(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
