package circleci

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOperationsRequests(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		body      string
		call      func(c *Client) error
		wantPath  string
		wantQuery url.Values
		wantRoute string
	}{
		{
			name: "Me", body: userJSON, wantPath: "/api/v2/me", wantRoute: RouteMe,
			call: func(c *Client) error { _, err := c.Me(ctx); return err },
		},
		{
			name: "Collaborations", body: collaborationsJSON, wantPath: "/api/v2/me/collaborations", wantRoute: RouteCollaborations,
			call: func(c *Client) error { _, err := c.Collaborations(ctx); return err },
		},
		{
			name: "FollowedProjects", body: followedProjectsJSON, wantPath: "/api/v1.1/projects", wantRoute: RouteFollowedProjects,
			call: func(c *Client) error { _, err := c.FollowedProjects(ctx); return err },
		},
		{
			name: "Project", body: projectJSON, wantPath: "/api/v2/project/gh%2Facme%2Fwidgets", wantRoute: RouteProject,
			call: func(c *Client) error { _, err := c.Project(ctx, "gh/acme/widgets"); return err },
		},
		{
			name: "OrgPipelinesPage first", body: pipelinePageJSON, wantPath: "/api/v2/pipeline", wantRoute: RouteOrgPipelines,
			wantQuery: url.Values{"org-slug": {"gh/acme"}},
			call:      func(c *Client) error { _, err := c.OrgPipelinesPage(ctx, "gh/acme", ""); return err },
		},
		{
			name: "OrgPipelinesPage next", body: pipelinePageJSON, wantPath: "/api/v2/pipeline", wantRoute: RouteOrgPipelines,
			wantQuery: url.Values{"org-slug": {"circleci/UjR2dkLm7VZ3cS1pQ9wXyZ"}, "page-token": {"tok+/=&x"}},
			call: func(c *Client) error {
				_, err := c.OrgPipelinesPage(ctx, "circleci/UjR2dkLm7VZ3cS1pQ9wXyZ", "tok+/=&x")
				return err
			},
		},
		{
			name: "OrgPipelinesPage no org", body: pipelinePageJSON, wantPath: "/api/v2/pipeline", wantRoute: RouteOrgPipelines,
			call: func(c *Client) error { _, err := c.OrgPipelinesPage(ctx, "", ""); return err },
		},
		{
			name: "ProjectPipelinesPage first", body: pipelinePageJSON, wantRoute: RouteProjectPipelines,
			wantPath: "/api/v2/project/gh%2Facme%2Fwidgets/pipeline",
			call:     func(c *Client) error { _, err := c.ProjectPipelinesPage(ctx, "gh/acme/widgets", "", ""); return err },
		},
		{
			name: "ProjectPipelinesPage branch and token", body: pipelinePageJSON, wantRoute: RouteProjectPipelines,
			wantPath:  "/api/v2/project/bb%2Fws%2Frepo/pipeline",
			wantQuery: url.Values{"branch": {"feature/x y"}, "page-token": {"AARLwwV4"}},
			call: func(c *Client) error {
				_, err := c.ProjectPipelinesPage(ctx, "bb/ws/repo", "feature/x y", "AARLwwV4")
				return err
			},
		},
		{
			name: "Pipeline", body: pipelineJSON, wantRoute: RoutePipeline,
			wantPath: "/api/v2/pipeline/9f1a2c3e-0b7d-4f7e-8a31-2f5a1d9c0b11",
			call: func(c *Client) error {
				_, err := c.Pipeline(ctx, "9f1a2c3e-0b7d-4f7e-8a31-2f5a1d9c0b11")
				return err
			},
		},
		{
			name: "PipelineWorkflowsPage", body: workflowPageJSON, wantRoute: RoutePipelineWorkflow,
			wantPath:  "/api/v2/pipeline/9f1a2c3e-0b7d-4f7e-8a31-2f5a1d9c0b11/workflow",
			wantQuery: url.Values{"page-token": {"wf-2"}},
			call: func(c *Client) error {
				_, err := c.PipelineWorkflowsPage(ctx, "9f1a2c3e-0b7d-4f7e-8a31-2f5a1d9c0b11", "wf-2")
				return err
			},
		},
		{
			name: "Workflow", body: workflowJSON, wantRoute: RouteWorkflow,
			wantPath: "/api/v2/workflow/2b7c4d10-5e6f-4a1b-9c8d-7e6f5a4b3c2d",
			call: func(c *Client) error {
				_, err := c.Workflow(ctx, "2b7c4d10-5e6f-4a1b-9c8d-7e6f5a4b3c2d")
				return err
			},
		},
		{
			name: "WorkflowJobsPage sends page-token", body: jobPageJSON, wantRoute: RouteWorkflowJobs,
			wantPath:  "/api/v2/workflow/2b7c4d10-5e6f-4a1b-9c8d-7e6f5a4b3c2d/job",
			wantQuery: url.Values{"page-token": {"jobs-2"}},
			call: func(c *Client) error {
				_, err := c.WorkflowJobsPage(ctx, "2b7c4d10-5e6f-4a1b-9c8d-7e6f5a4b3c2d", "jobs-2")
				return err
			},
		},
		{
			name: "User", body: userJSON, wantRoute: RouteUser,
			wantPath: "/api/v2/user/6a0d3c2b-1e4f-4b5a-8c7d-9e0f1a2b3c4d",
			call: func(c *Client) error {
				_, err := c.User(ctx, "6a0d3c2b-1e4f-4b5a-8c7d-9e0f1a2b3c4d")
				return err
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var routes []string
			c, rec, _ := newTestClient(t, jsonBody(200, tt.body), func(o *Options) {
				o.Observer = ObserverFunc(func(route, method string, status int, _ time.Duration) {
					routes = append(routes, route)
					assert.Equal(t, http.MethodGet, method)
					assert.Equal(t, 200, status)
				})
			})
			require.NoError(t, tt.call(c))
			reqs := rec.all()
			require.Len(t, reqs, 1, "exactly one request")
			r := reqs[0]
			assert.Equal(t, http.MethodGet, r.Method)
			assert.Equal(t, tt.wantPath, r.EscapedPath)
			gotQuery, err := url.ParseQuery(r.RawQuery)
			require.NoError(t, err)
			if tt.wantQuery == nil {
				assert.Empty(t, gotQuery)
			} else {
				assert.Equal(t, tt.wantQuery, gotQuery)
			}
			assert.Equal(t, testToken, r.Header.Get("Circle-Token"))
			assert.Equal(t, "application/json", r.Header.Get("Accept"))
			assert.Equal(t, DefaultUserAgent(), r.Header.Get("User-Agent"))
			assert.Equal(t, []string{tt.wantRoute}, routes)
		})
	}
}

// TestSlugAndIDEscapingRoundTrip checks that what goes in comes out, exactly, on the
// server side, and stays one path segment.
func TestSlugAndIDEscapingRoundTrip(t *testing.T) {
	slugs := []string{
		"gh/acme/widgets",
		"circleci/43G3kM5RtfFE7v5sa4nWAU/44n9pujWcTnVZ2b5S8Fnat",
		"gh/acme/100%-sure",
		"gh/acme/with space",
		"gh/ünïcødé/日本語",
		"gh/acme/a?b#c;d",
		"gh/acme/..",
		"..",
		".",
		"gh/acme/a+b&c=d",
	}
	for _, slug := range slugs {
		t.Run(slug, func(t *testing.T) {
			var gotPath, gotEscaped string
			c, _, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				gotPath, gotEscaped = r.URL.Path, r.URL.EscapedPath()
				jsonBody(200, pipelinePageJSON)(w, r)
			})
			_, err := c.ProjectPipelinesPage(context.Background(), slug, "", "")
			require.NoError(t, err)
			assert.Equal(t, "/api/v2/project/"+slug+"/pipeline", gotPath, "decoded path")
			require.Regexp(t, `^/api/v2/project/[^/]+/pipeline$`, gotEscaped, "slug is one escaped segment")
			seg := gotEscaped[len("/api/v2/project/") : len(gotEscaped)-len("/pipeline")]
			unescaped, err := url.PathUnescape(seg)
			require.NoError(t, err)
			assert.Equal(t, slug, unescaped)
			assert.NotEqual(t, ".", seg)
			assert.NotEqual(t, "..", seg)
		})
	}

	ids := []string{"9f1a2c3e-0b7d-4f7e-8a31-2f5a1d9c0b11", "a/b", "50%", "x y", "ü", ".."}
	for _, id := range ids {
		t.Run("id "+id, func(t *testing.T) {
			var got []string
			c, _, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				got = append(got, r.URL.EscapedPath())
				switch p := r.URL.EscapedPath(); {
				case strings.HasSuffix(p, "/job"):
					jsonBody(200, jobPageJSON)(w, r)
				case strings.HasSuffix(p, "/workflow"):
					jsonBody(200, workflowPageJSON)(w, r)
				default:
					jsonBody(200, userJSON)(w, r)
				}
			})
			ctx := context.Background()
			_, err := c.WorkflowJobsPage(ctx, id, "")
			require.NoError(t, err)
			_, err = c.PipelineWorkflowsPage(ctx, id, "")
			require.NoError(t, err)
			_, err = c.User(ctx, id)
			require.NoError(t, err)
			esc := escapeSegment(id)
			assert.Equal(t, []string{
				"/api/v2/workflow/" + esc + "/job",
				"/api/v2/pipeline/" + esc + "/workflow",
				"/api/v2/user/" + esc,
			}, got)
			back, err := url.PathUnescape(esc)
			require.NoError(t, err)
			assert.Equal(t, id, back)
		})
	}
}

func TestEmptyArgumentsRejectedWithoutRequest(t *testing.T) {
	c, rec, _ := newTestClient(t, jsonBody(200, `{}`))
	ctx := context.Background()
	calls := map[string]func() error{
		"Project":               func() error { _, err := c.Project(ctx, ""); return err },
		"ProjectPipelinesPage":  func() error { _, err := c.ProjectPipelinesPage(ctx, "", "", ""); return err },
		"Pipeline":              func() error { _, err := c.Pipeline(ctx, ""); return err },
		"PipelineWorkflowsPage": func() error { _, err := c.PipelineWorkflowsPage(ctx, "", ""); return err },
		"Workflow":              func() error { _, err := c.Workflow(ctx, ""); return err },
		"WorkflowJobsPage":      func() error { _, err := c.WorkflowJobsPage(ctx, "", ""); return err },
		"User":                  func() error { _, err := c.User(ctx, ""); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			e := requireClass(t, call(), ClassBadRequest)
			assert.Zero(t, e.StatusCode)
			assert.Contains(t, e.Message, "empty")
			assert.False(t, e.Retryable())
		})
	}
	assert.Zero(t, rec.count())
}
