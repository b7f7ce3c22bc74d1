package circlecitest

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// crawl is a minimal complete sync over HTTP: projects from v1.1 /projects,
// then every project, pipeline page, workflow list, job list and user.
type crawl struct {
	projects, pipelines, workflows, jobs, users []string
	unreachable                                 []Unreachable
}

func slugFromVCSURL(u string) string {
	switch {
	case strings.HasPrefix(u, "https://github.com/"):
		return "gh/" + strings.TrimPrefix(u, "https://github.com/")
	case strings.HasPrefix(u, "https://bitbucket.org/"):
		return "bb/" + strings.TrimPrefix(u, "https://bitbucket.org/")
	case strings.HasPrefix(u, "//circleci.com/"):
		return "circleci/" + strings.TrimPrefix(u, "//circleci.com/")
	}
	return ""
}

func doCrawl(t *testing.T, s *Server, token string) crawl {
	t.Helper()
	var c crawl
	getAs := func(path string, v any) resp {
		r := call(t, s, path, token)
		if r.status == http.StatusOK && v != nil {
			require.NoError(t, json.Unmarshal(r.body, v))
		}
		return r
	}
	walkAs := func(path string) ([]map[string]any, resp) {
		var items []map[string]any
		next := ""
		for {
			var p page
			r := getAs(withQuery(path, "page-token", next), &p)
			if r.status != http.StatusOK {
				return items, r
			}
			items = append(items, p.Items...)
			if p.NextPageToken == nil {
				return items, r
			}
			next = *p.NextPageToken
		}
	}
	var followed []map[string]any
	require.Equal(t, http.StatusOK, getAs("/api/v1.1/projects", &followed).status)
	users := map[string]string{} // id → project of first reference
	for _, f := range followed {
		slug := slugFromVCSURL(f["vcs_url"].(string))
		var proj map[string]any
		require.Equal(t, http.StatusOK, getAs(projectPath(slug), &proj).status, slug)
		c.projects = append(c.projects, proj["id"].(string))
		pipelines, r := walkAs(projectPath(slug) + "/pipeline")
		require.Equal(t, http.StatusOK, r.status)
		for _, p := range pipelines {
			pid := p["id"].(string)
			c.pipelines = append(c.pipelines, pid)
			wfs, r := walkAs("/api/v2/pipeline/" + pid + "/workflow")
			switch r.status {
			case http.StatusOK:
			case http.StatusNotFound:
				c.unreachable = append(c.unreachable, Unreachable{Kind: UnreachablePipeline, ID: pid, ProjectSlug: slug, Reason: ReasonExpired, HTTPStatus: 404})
				continue
			case http.StatusInternalServerError:
				c.unreachable = append(c.unreachable, Unreachable{Kind: UnreachablePipeline, ID: pid, ProjectSlug: slug, Reason: ReasonServerError, HTTPStatus: 500})
				continue
			default:
				t.Fatalf("workflows of %s: %d", pid, r.status)
			}
			for _, wf := range wfs {
				c.workflows = append(c.workflows, wf["id"].(string))
				for _, k := range []string{"started_by", "canceled_by", "errored_by"} {
					if id, ok := wf[k].(string); ok {
						users[id] = slug
					}
				}
				jobs, r := walkAs("/api/v2/workflow/" + wf["id"].(string) + "/job")
				require.Equal(t, http.StatusOK, r.status)
				for _, j := range jobs {
					c.jobs = append(c.jobs, j["id"].(string))
					for _, k := range []string{"approved_by", "canceled_by"} {
						if id, ok := j[k].(string); ok {
							users[id] = slug
						}
					}
				}
			}
		}
	}
	ids := make([]string, 0, len(users))
	for id := range users {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		r := getAs("/api/v2/user/"+id, nil)
		switch r.status {
		case http.StatusOK:
			c.users = append(c.users, id)
		case http.StatusNotFound:
			c.unreachable = append(c.unreachable, Unreachable{Kind: UnreachableUser, ID: id, Reason: ReasonNotFound, HTTPStatus: 404})
		default:
			t.Fatalf("user %s: %d", id, r.status)
		}
	}
	return c
}

func idsOf[T any](xs []T, id func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = id(x)
	}
	return out
}

func TestExpectedMatchesACompleteCrawl(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   Options
		token  string
		faults bool
	}{
		{name: "clean", opts: Options{Seed: 1}},
		{name: "faults", opts: Options{Seed: 2, Faults: Faults{BrokenPipelines: 2, ExpiredPipelines: 3, MissingUsers: 2}}, faults: true},
		{name: "limited", opts: Options{Seed: 3, LimitedToken: "lim", LimitedProjects: 2, Faults: Faults{ExpiredPipelines: 2, MissingUsers: 1}}, token: "lim"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewServer(tc.opts)
			defer s.Close()
			token := tc.token
			if token == "" {
				token = s.Token()
			}
			ex := s.Expected(token)
			s.ResetStats()
			c := doCrawl(t, s, token)

			assert.ElementsMatch(t, idsOf(ex.Projects, func(p Project) string { return p.ID }), c.projects)
			assert.ElementsMatch(t, idsOf(ex.Pipelines, func(p Pipeline) string { return p.ID }), c.pipelines)
			assert.ElementsMatch(t, idsOf(ex.Workflows, func(w Workflow) string { return w.ID }), c.workflows)
			assert.ElementsMatch(t, idsOf(ex.Jobs, func(j Job) string { return j.ID }), c.jobs)
			assert.ElementsMatch(t, idsOf(ex.Users, func(u User) string { return u.ID }), c.users)
			assert.ElementsMatch(t, ex.Unreachable, c.unreachable)

			// The crawl is minimal: its requests (less v1.1 discovery) are the budget.
			b := ex.MinimumRequests
			assert.Equal(t, b.Projects+b.PipelinePages+b.WorkflowPages+b.JobPages+b.Users, b.Total)
			assert.EqualValues(t, b.Total, s.Stats().Total-1)
			assert.Equal(t, b, s.MinimumRequests(token))

			if tc.faults {
				d := s.Dataset()
				kinds := map[string]int{}
				for _, u := range ex.Unreachable {
					kinds[u.Reason]++
				}
				assert.Equal(t, 2, kinds[ReasonServerError])
				assert.Equal(t, 3, kinds[ReasonExpired])
				assert.Positive(t, kinds[ReasonNotFound])
				// Unreachable workflows and jobs are excluded from Expected
				// but present in the dataset.
				assert.Less(t, len(ex.Workflows), len(d.Workflows))
				assert.Less(t, len(ex.Jobs), len(d.Jobs))
				for _, u := range ex.Users {
					assert.NotContains(t, d.MissingUsers, u.ID)
				}
				under := map[string]bool{}
				for _, id := range append(append([]string{}, d.BrokenPipelines...), d.ExpiredPipelines...) {
					under[id] = true
				}
				for _, w := range ex.Workflows {
					assert.False(t, under[w.PipelineID])
				}
				for _, j := range ex.Jobs {
					assert.False(t, under[j.PipelineID])
				}
			}
		})
	}
}

func TestExpectedUnknownToken(t *testing.T) {
	s := NewHandler(Options{})
	ex := s.Expected("nope")
	assert.Empty(t, ex.Projects)
	assert.Empty(t, ex.Pipelines)
	assert.Zero(t, ex.MinimumRequests.Total)
}
