package circlecitest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawGet sends a GET with the server's token and returns the status, the
// header, what could be read of the body and the error that ended reading.
func rawGet(t *testing.T, s *Server, path string) (int, http.Header, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Circle-Token", s.Token())
	req.Header.Set("Accept", "application/json")
	r, err := s.Client().Do(req)
	require.NoError(t, err)
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	return r.StatusCode, r.Header, b, err
}

func TestCorruptKinds(t *testing.T) {
	opts := Options{Seed: 4, Projects: 1, PipelinesPerProject: 25}
	clean := NewServer(opts)
	defer clean.Close()
	d := clean.Dataset()
	slug := d.Projects[0].Slug
	list := projectPath(slug) + "/pipeline"
	var first page
	get(t, clean, list, &first)
	require.NotNil(t, first.NextPageToken, "the list spans two pages")
	page2 := withQuery(list, "page-token", *first.NextPageToken)
	_, _, want2, err := rawGet(t, clean, page2)
	require.NoError(t, err)
	_, _, wantUser, err := rawGet(t, clean, "/api/v2/user/"+d.MeID)
	require.NoError(t, err)

	for _, kind := range CorruptionKinds {
		t.Run(string(kind), func(t *testing.T) {
			s := NewServer(opts)
			defer s.Close()
			s.SetFaults(Faults{Corrupt: []Corruption{{Route: "project_pipelines", Kind: kind, First: 1}}})
			path := list
			if kind == CorruptPageTokenCycle {
				// The first page is not eligible: it has no token to repeat.
				status, _, body, err := rawGet(t, s, list)
				require.NoError(t, err)
				assert.Equal(t, http.StatusOK, status)
				var p page
				require.NoError(t, json.Unmarshal(body, &p))
				assert.Equal(t, first.NextPageToken, p.NextPageToken)
				assert.Zero(t, s.Stats().Corrupted[kind])
				path = page2
			}
			status, header, body, err := rawGet(t, s, path)
			switch kind {
			case CorruptMalformedJSON:
				require.NoError(t, err)
				assert.Equal(t, http.StatusOK, status)
				assert.False(t, json.Valid(body))
				assert.True(t, strings.HasPrefix(string(body), `{,"items"`) || strings.HasPrefix(string(body), `{,"next_page_token"`), "%.40s", body)
			case CorruptTruncated:
				assert.Equal(t, http.StatusOK, status)
				assert.True(t, errors.Is(err, io.ErrUnexpectedEOF), "reading ends with an unexpected EOF, got %v", err)
				n, perr := strconv.Atoi(header.Get("Content-Length"))
				require.NoError(t, perr)
				assert.Equal(t, n/2, len(body), "half the announced body arrived")
				assert.False(t, json.Valid(body))
			case CorruptOversize:
				require.NoError(t, err)
				assert.Equal(t, http.StatusOK, status)
				assert.GreaterOrEqual(t, len(body), OversizeBytes)
				var p page
				require.NoError(t, json.Unmarshal(body, &p), "still valid JSON")
				assert.Len(t, p.Items, PageSize, "with the real items")
			case CorruptWrongTypes:
				require.NoError(t, err)
				assert.Equal(t, http.StatusOK, status)
				var v struct {
					Items []map[string]any `json:"items"`
				}
				require.NoError(t, json.Unmarshal(body, &v))
				assert.Equal(t, "seven", v.Items[0]["number"])
			case CorruptHTMLError:
				require.NoError(t, err)
				assert.Equal(t, http.StatusBadGateway, status)
				assert.Contains(t, header.Get("Content-Type"), "text/html")
				assert.Contains(t, string(body), "<title>502 Bad Gateway</title>")
			case CorruptPageTokenCycle:
				require.NoError(t, err)
				assert.Equal(t, http.StatusOK, status)
				var got, want page
				require.NoError(t, json.Unmarshal(body, &got))
				require.NoError(t, json.Unmarshal(want2, &want))
				require.NotNil(t, got.NextPageToken)
				assert.Equal(t, *first.NextPageToken, *got.NextPageToken, "the page names its own token as the next")
				assert.Equal(t, ids(want.Items), ids(got.Items), "with the right items")
			}
			st := s.Stats()
			assert.EqualValues(t, 1, st.Corrupted[kind])
			switch kind {
			case CorruptHTMLError:
				assert.EqualValues(t, 1, st.Count(RouteProjectPipelines, http.StatusBadGateway))
			case CorruptPageTokenCycle:
				assert.EqualValues(t, 2, st.Count(RouteProjectPipelines, http.StatusOK), "the first page, then the spoilt one")
			default:
				assert.EqualValues(t, 1, st.Count(RouteProjectPipelines, http.StatusOK))
			}

			// First: 1: the next eligible request is answered as usual; other
			// routes never were.
			_, _, again, err := rawGet(t, s, page2)
			require.NoError(t, err)
			assert.Equal(t, string(want2), string(again))
			_, _, user, err := rawGet(t, s, "/api/v2/user/"+d.MeID)
			require.NoError(t, err)
			assert.Equal(t, string(wantUser), string(user))
			assert.EqualValues(t, 1, s.Stats().Corrupted[kind])
		})
	}
}

func TestCorruptWrongTypesShapes(t *testing.T) {
	s := NewServer(Options{Seed: 2, Projects: 1, PipelinesPerProject: 3})
	defer s.Close()
	d := s.Dataset()
	s.SetFaults(Faults{Corrupt: []Corruption{{Route: AnyRoute, Kind: CorruptWrongTypes, Rate: 1}}})
	decode := func(path string) any {
		status, _, body, err := rawGet(t, s, path)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, "%s: %s", path, body)
		var v any
		require.NoError(t, json.Unmarshal(body, &v), "%s", path)
		return v
	}
	first := func(v any) map[string]any { return v.(map[string]any)["items"].([]any)[0].(map[string]any) }
	assert.Equal(t, "seven", first(decode("/api/v2/pipeline/" + d.Pipelines[0].ID + "/workflow"))["pipeline_number"])
	assert.Equal(t, "seven", first(decode("/api/v2/workflow/" + d.Workflows[0].ID + "/job"))["job_number"].(string)+"",
		"the first job has a job_number")
	assert.EqualValues(t, 7, decode("/api/v2/me").(map[string]any)["id"])
	assert.IsType(t, map[string]any{}, decode("/api/v2/me/collaborations"), "a bare array becomes an object")
	// An empty list gets "items" as an object.
	empty := decode("/api/v2/pipeline?org-slug=gh/nobody").(map[string]any)
	assert.IsType(t, map[string]any{}, empty["items"])
}

func TestCorruptEligibilityAndRoutes(t *testing.T) {
	s := NewServer(Options{Seed: 1, Projects: 1, PipelinesPerProject: 2})
	defer s.Close()
	d := s.Dataset()
	slug := d.Projects[0].Slug
	// The Stats route key is accepted as well as the short name.
	s.SetFaults(Faults{Corrupt: []Corruption{{Route: RouteProject, Kind: CorruptHTMLError, First: 1}}})
	// A 404 is not eligible and does not use up First.
	assert.Equal(t, http.StatusNotFound, call(t, s, projectPath("gh/acme/nope"), s.Token()).status)
	// Nor does a 401, or another route.
	assert.Equal(t, http.StatusNotFound, call(t, s, projectPath(slug), "wrong-token").status)
	assert.Equal(t, http.StatusOK, call(t, s, "/api/v2/me", s.Token()).status)
	// The control routes never see faults.
	assert.Equal(t, http.StatusOK, call(t, s, "/_fake/dataset", "").status)
	assert.Equal(t, http.StatusBadGateway, call(t, s, projectPath(slug), s.Token()).status)
	assert.Equal(t, http.StatusOK, call(t, s, projectPath(slug), s.Token()).status)

	// Setting the faults again restarts First.
	s.SetFaults(s.Faults())
	assert.Equal(t, http.StatusBadGateway, call(t, s, projectPath(slug), s.Token()).status)
	assert.EqualValues(t, 2, s.Stats().Corrupted[CorruptHTMLError])

	// Two entries on one route: the first that fires applies, the second does
	// not see that request.
	s.SetFaults(Faults{Corrupt: []Corruption{
		{Route: "me", Kind: CorruptHTMLError, First: 1},
		{Route: "*", Kind: CorruptMalformedJSON, First: 1},
	}})
	assert.Equal(t, http.StatusBadGateway, call(t, s, "/api/v2/me", s.Token()).status)
	r := call(t, s, "/api/v2/me", s.Token())
	assert.Equal(t, http.StatusOK, r.status)
	assert.False(t, json.Valid(r.body), "the second entry's first request")
	r = call(t, s, "/api/v2/me", s.Token())
	assert.True(t, json.Valid(r.body))

	// Match narrows the eligible requests to those whose path holds it.
	s.SetFaults(Faults{Corrupt: []Corruption{{Route: "pipeline", Kind: CorruptHTMLError, First: 1, Match: d.Pipelines[1].ID}}})
	assert.Equal(t, http.StatusOK, call(t, s, "/api/v2/pipeline/"+d.Pipelines[0].ID, s.Token()).status)
	assert.Equal(t, http.StatusBadGateway, call(t, s, "/api/v2/pipeline/"+d.Pipelines[1].ID, s.Token()).status)
	assert.Equal(t, http.StatusOK, call(t, s, "/api/v2/pipeline/"+d.Pipelines[1].ID, s.Token()).status)

	// Unknown routes or kinds are refused over HTTP, and dropped in Go.
	for _, body := range []string{
		`{"corrupt":[{"route":"workflow_jobz","kind":"truncated","first":1}]}`,
		`{"corrupt":[{"route":"workflow_jobs","kind":"garbled","first":1}]}`,
	} {
		req, _ := http.NewRequest(http.MethodPut, s.URL+"/_fake/faults", bytes.NewBufferString(body))
		resp := do(t, s, req)
		assert.Equal(t, http.StatusBadRequest, resp.status, body)
		assert.Contains(t, string(resp.body), "unknown")
	}
	got := s.SetFaults(Faults{Corrupt: []Corruption{{Route: "nope", Kind: CorruptTruncated}, {Route: "workflow_jobs",
		Kind: CorruptTruncated, Rate: 3, First: -2}}})
	assert.Equal(t, []Corruption{{Route: RouteWorkflowJobs, Kind: CorruptTruncated, Rate: 1}}, got.Corrupt,
		"short names become Stats keys, out-of-range values are clamped")

	// Over HTTP, with a short name; GET answers the normalized form.
	req, _ := http.NewRequest(http.MethodPut, s.URL+"/_fake/faults",
		bytes.NewBufferString(`{"corrupt":[{"route":"pipeline_workflows","kind":"page_token_cycle","rate":0.5,"first":2}]}`))
	resp := do(t, s, req)
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	var f Faults
	get(t, s, "/_fake/faults", &f)
	assert.Equal(t, []Corruption{{Route: RoutePipelineWorkflows, Kind: CorruptPageTokenCycle, Rate: 0.5, First: 2}}, f.Corrupt)
}

func TestCorruptRateIsSeeded(t *testing.T) {
	const n = 300
	hits := func(s *Server) []int {
		var out []int
		for i := range n {
			if r := call(t, s, "/api/v2/me", s.Token()); !json.Valid(r.body) {
				out = append(out, i)
			}
		}
		return out
	}
	faults := Faults{Corrupt: []Corruption{{Route: "me", Kind: CorruptMalformedJSON, Rate: 0.3}}}
	a := NewServer(Options{Seed: 8, Faults: faults})
	defer a.Close()
	b := NewServer(Options{Seed: 8, Faults: faults})
	defer b.Close()
	first := hits(a)
	assert.InDelta(t, 0.3, float64(len(first))/n, 0.08)
	assert.Equal(t, first, hits(b), "the same seed corrupts the same requests")
	a.SetFaults(faults)
	assert.Equal(t, first, hits(a), "setting the faults restarts the draws")
	assert.EqualValues(t, 2*len(first), a.Stats().Corrupted[CorruptMalformedJSON])

	c := NewServer(Options{Seed: 9, Faults: faults})
	defer c.Close()
	assert.NotEqual(t, first, hits(c), "another seed, other requests")
}
