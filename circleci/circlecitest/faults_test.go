package circlecitest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTokenBucket(t *testing.T) {
	// A slow refill, so the bucket cannot refill during the test.
	s := NewServer(Options{Faults: Faults{RateLimit: 0.01, RateBurst: 3}})
	defer s.Close()
	for i := range 3 {
		r := call(t, s, "/api/v2/me", s.Token())
		require.Equal(t, http.StatusOK, r.status, "request %d", i)
		assert.Equal(t, "3", r.header.Get("RateLimit-Limit"))
		assert.Equal(t, strconv.Itoa(2-i), r.header.Get("RateLimit-Remaining"))
		assert.NotEmpty(t, r.header.Get("RateLimit-Reset"))
	}
	r := call(t, s, "/api/v2/pipeline", s.Token())
	require.Equal(t, http.StatusTooManyRequests, r.status)
	retry, err := strconv.Atoi(r.header.Get("Retry-After"))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, retry, 1)
	assert.Equal(t, "Rate limited.", string(r.body))
	assert.Contains(t, r.header.Get("Content-Type"), "text/plain")
	assert.Equal(t, "0", r.header.Get("RateLimit-Remaining"))
	assert.False(t, json.Valid(r.body), "the 429 body is plain text")

	st := s.Stats()
	assert.EqualValues(t, 1, st.RetryAfterSent)
	assert.EqualValues(t, 1, st.Count(RoutePipelines, 429))
	assert.EqualValues(t, 3, st.Count(RouteMe, 200))

	// Turning the bucket off at runtime removes the limit and the headers.
	s.SetFaults(Faults{})
	r = call(t, s, "/api/v2/me", s.Token())
	assert.Equal(t, http.StatusOK, r.status)
	assert.Empty(t, r.header.Get("RateLimit-Limit"))
}

func TestRandomFaultRates(t *testing.T) {
	s := NewServer(Options{Seed: 3, Faults: Faults{Random429Rate: 0.2, Random500Rate: 0.3}})
	defer s.Close()
	const n = 500
	got := map[int]int{}
	for range n {
		r := call(t, s, "/api/v2/me", s.Token())
		got[r.status]++
		switch r.status {
		case http.StatusTooManyRequests:
			assert.Equal(t, "1", r.header.Get("Retry-After"))
			assert.Equal(t, "Rate limited.", string(r.body))
		case http.StatusInternalServerError:
			assert.Equal(t, "Internal server error.", message(t, r))
			assert.Contains(t, r.header.Get("Content-Type"), "application/json")
		}
	}
	assert.InDelta(t, 0.2, float64(got[429])/n, 0.07)
	assert.InDelta(t, 0.3, float64(got[500])/n, 0.07)
	assert.Equal(t, n, got[200]+got[429]+got[500])
	assert.EqualValues(t, got[429], s.Stats().RetryAfterSent)
}

func TestBrokenExpiredMissing(t *testing.T) {
	s := NewServer(Options{Seed: 21, Faults: Faults{BrokenPipelines: 3, ExpiredPipelines: 4, MissingUsers: 2}})
	defer s.Close()
	d := s.Dataset()
	require.Len(t, d.BrokenPipelines, 3)
	require.Len(t, d.ExpiredPipelines, 4)
	require.Len(t, d.MissingUsers, 2)

	listed := map[string]bool{}
	items, _ := walk(t, s, "/api/v2/pipeline")
	for _, id := range ids(items) {
		listed[id] = true
	}

	// Expired: the 4 oldest, listed, readable, but their workflows and jobs 404.
	oldest := d.Pipelines[len(d.Pipelines)-4:]
	var oldestIDs []string
	for _, p := range oldest {
		oldestIDs = append(oldestIDs, p.ID)
	}
	assert.ElementsMatch(t, oldestIDs, d.ExpiredPipelines)
	for _, id := range d.ExpiredPipelines {
		assert.True(t, listed[id])
		assert.Equal(t, http.StatusOK, call(t, s, "/api/v2/pipeline/"+id, s.Token()).status)
		r := call(t, s, "/api/v2/pipeline/"+id+"/workflow", s.Token())
		assert.Equal(t, http.StatusNotFound, r.status)
		assert.Equal(t, "Not Found", message(t, r))
		for _, wf := range d.Workflows {
			if wf.PipelineID == id {
				r := call(t, s, "/api/v2/workflow/"+wf.ID+"/job", s.Token())
				assert.Equal(t, http.StatusNotFound, r.status)
				assert.Equal(t, "Not Found", message(t, r))
			}
		}
	}

	// Broken: listed, readable, workflow list always 500; not among the newest.
	newest := map[string]bool{}
	for _, p := range d.Pipelines[:10] {
		newest[p.ID] = true
	}
	for _, id := range d.BrokenPipelines {
		assert.True(t, listed[id])
		assert.False(t, newest[id])
		assert.NotContains(t, d.ExpiredPipelines, id)
		for range 3 {
			r := call(t, s, "/api/v2/pipeline/"+id+"/workflow", s.Token())
			assert.Equal(t, http.StatusInternalServerError, r.status)
			assert.Equal(t, "Internal server error.", message(t, r))
		}
	}

	// Missing users.
	for _, id := range d.MissingUsers {
		r := call(t, s, "/api/v2/user/"+id, s.Token())
		assert.Equal(t, http.StatusNotFound, r.status)
		assert.Equal(t, "User does not exist.", message(t, r))
		assert.NotEqual(t, d.MeID, id)
	}
	unknown := call(t, s, "/api/v2/user/00000000-0000-4000-8000-000000000000", s.Token())
	assert.Equal(t, http.StatusNotFound, unknown.status)
	assert.Equal(t, "User does not exist.", message(t, unknown))

	// Switching the faults off at runtime heals them.
	s.SetFaults(Faults{})
	assert.Equal(t, http.StatusOK, call(t, s, "/api/v2/pipeline/"+d.BrokenPipelines[0]+"/workflow", s.Token()).status)
	assert.Equal(t, http.StatusOK, call(t, s, "/api/v2/pipeline/"+d.ExpiredPipelines[0]+"/workflow", s.Token()).status)
	assert.Equal(t, http.StatusOK, call(t, s, "/api/v2/user/"+d.MissingUsers[0], s.Token()).status)

	// The same counts pick the same victims again.
	s.SetFaults(Faults{BrokenPipelines: 3, ExpiredPipelines: 4, MissingUsers: 2})
	again := s.Dataset()
	assert.Equal(t, d.BrokenPipelines, again.BrokenPipelines)
	assert.Equal(t, d.ExpiredPipelines, again.ExpiredPipelines)
	assert.Equal(t, d.MissingUsers, again.MissingUsers)
}

func TestAuthQuirks(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	d := s.Dataset()
	slug := d.Projects[0].Slug

	// 401 on non-project routes.
	for _, path := range []string{"/api/v2/me", "/api/v2/me/collaborations", "/api/v2/pipeline",
		"/api/v2/pipeline/" + d.Pipelines[0].ID, "/api/v2/pipeline/" + d.Pipelines[0].ID + "/workflow",
		"/api/v2/workflow/" + d.Workflows[0].ID, "/api/v2/workflow/" + d.Workflows[0].ID + "/job",
		"/api/v2/user/" + d.Users[0].ID} {
		r := call(t, s, path, "wrong-token")
		assert.Equal(t, http.StatusUnauthorized, r.status, path)
		assert.Equal(t, "Invalid token provided.", message(t, r), path)
		assert.Contains(t, r.header.Get("Content-Type"), "application/json")
	}
	// 404 Project not found on project routes, for a bad token...
	for _, path := range []string{projectPath(slug), projectPath(slug) + "/pipeline", projectPath(slug) + "/pipeline/1"} {
		r := call(t, s, path, "wrong-token")
		assert.Equal(t, http.StatusNotFound, r.status, path)
		assert.Equal(t, "Project not found", message(t, r), path)
	}
	// ...and for an unknown project with a good one.
	r := call(t, s, projectPath("gh/acme/nope"), s.Token())
	assert.Equal(t, http.StatusNotFound, r.status)
	assert.Equal(t, "Project not found", message(t, r))
	// v1.1 answers 401.
	assert.Equal(t, http.StatusUnauthorized, call(t, s, "/api/v1.1/projects", "wrong-token").status)
	// No token at all.
	r = call(t, s, "/api/v2/me", "")
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.NotEmpty(t, message(t, r))
	// Query-parameter auth is refused.
	r = call(t, s, "/api/v2/me?circle-token="+s.Token(), "")
	assert.Equal(t, http.StatusUnauthorized, r.status)

	// Bearer and basic auth work.
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/v2/me", nil)
	req.Header.Set("Authorization", "Bearer "+s.Token())
	assert.Equal(t, http.StatusOK, do(t, s, req).status)
	req, _ = http.NewRequest(http.MethodGet, s.URL+"/api/v2/me", nil)
	req.SetBasicAuth(s.Token(), "")
	assert.Equal(t, http.StatusOK, do(t, s, req).status)

	// Unknown ids.
	missing := "00000000-0000-4000-8000-000000000000"
	for path, msg := range map[string]string{
		"/api/v2/pipeline/" + missing:               "Pipeline not found",
		"/api/v2/pipeline/" + missing + "/workflow": "Pipeline not found",
		"/api/v2/workflow/" + missing:               "Workflow not found",
		"/api/v2/workflow/" + missing + "/job":      "Workflow not found",
		"/api/v2/user/" + missing:                   "User does not exist.",
	} {
		r := call(t, s, path, s.Token())
		assert.Equal(t, http.StatusNotFound, r.status, path)
		assert.Equal(t, msg, message(t, r), path)
	}
	r = call(t, s, "/api/v2/pipeline/not-a-uuid", s.Token())
	assert.Equal(t, http.StatusBadRequest, r.status)
	r = call(t, s, "/api/v2/nothing-here", s.Token())
	assert.Equal(t, http.StatusNotFound, r.status)
	assert.Equal(t, "Not Found", message(t, r))
}

func TestLimitedToken(t *testing.T) {
	s := NewServer(Options{LimitedToken: "limited", LimitedProjects: 1})
	defer s.Close()
	d := s.Dataset()
	seen, hidden := d.Projects[0], d.Projects[2]

	assert.Equal(t, http.StatusOK, call(t, s, projectPath(seen.Slug), "limited").status)
	for _, path := range []string{projectPath(hidden.Slug), projectPath(hidden.Slug) + "/pipeline"} {
		r := call(t, s, path, "limited")
		assert.Equal(t, http.StatusNotFound, r.status)
		assert.Equal(t, "Project not found", message(t, r))
	}
	// Its org pipeline list holds only the visible project.
	r := call(t, s, "/api/v2/pipeline", "limited")
	require.Equal(t, http.StatusOK, r.status)
	var p page
	require.NoError(t, json.Unmarshal(r.body, &p))
	for _, it := range p.Items {
		assert.Equal(t, seen.Slug, it["project_slug"])
	}
	// Hidden pipelines and workflows answer 404.
	for _, pl := range d.Pipelines {
		if pl.ProjectSlug == hidden.Slug {
			assert.Equal(t, http.StatusNotFound, call(t, s, "/api/v2/pipeline/"+pl.ID, "limited").status)
			break
		}
	}
	// Collaborations and followed projects.
	var collabs []map[string]any
	require.NoError(t, json.Unmarshal(call(t, s, "/api/v2/me/collaborations", "limited").body, &collabs))
	for _, c := range collabs {
		assert.NotEqual(t, hidden.OrganizationSlug, c["slug"])
	}
	var followed []map[string]any
	require.NoError(t, json.Unmarshal(call(t, s, "/api/v1.1/projects", "limited").body, &followed))
	require.Len(t, followed, 1)
	assert.Equal(t, seen.VCSInfo.VCSURL, followed[0]["vcs_url"])
	// Its /me is another user.
	var me map[string]any
	require.NoError(t, json.Unmarshal(call(t, s, "/api/v2/me", "limited").body, &me))
	assert.Equal(t, d.LimitedMeID, me["id"])
	assert.NotEqual(t, d.MeID, me["id"])

	ex := s.Expected("limited")
	require.Len(t, ex.Projects, 1)
	for _, pl := range ex.Pipelines {
		assert.Equal(t, seen.Slug, pl.ProjectSlug)
	}
}

func TestLatencyAndMaxConcurrent(t *testing.T) {
	s := NewServer(Options{Faults: Faults{Latency: 300 * time.Millisecond}})
	defer s.Close()
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/v2/me", nil)
			req.Header.Set("Circle-Token", s.Token())
			r, err := http.DefaultClient.Do(req)
			if assert.NoError(t, err) {
				r.Body.Close()
			}
		}()
	}
	wg.Wait()
	st := s.Stats()
	assert.EqualValues(t, 6, st.Total)
	assert.GreaterOrEqual(t, st.MaxConcurrent, int64(2))
	assert.LessOrEqual(t, st.MaxConcurrent, int64(6))
}

func TestFaultsOverHTTP(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	body := `{"latency":"5ms","rate_limit":100,"random_500_rate":0.5,"broken_pipelines":2}`
	req, _ := http.NewRequest(http.MethodPut, s.URL+"/_fake/faults", bytes.NewBufferString(body))
	r := do(t, s, req)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var f Faults
	require.NoError(t, json.Unmarshal(r.body, &f))
	assert.Equal(t, 5*time.Millisecond, f.Latency)
	assert.Equal(t, 100, f.RateBurst, "burst defaults to the rate")
	assert.Equal(t, f, s.Faults())
	assert.Len(t, s.Dataset().BrokenPipelines, 2)

	req, _ = http.NewRequest(http.MethodPut, s.URL+"/_fake/faults", bytes.NewBufferString(`{"latency":"soon"}`))
	assert.Equal(t, http.StatusBadRequest, do(t, s, req).status)
}
