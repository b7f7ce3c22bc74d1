package circlecitest

import (
	"net/http"
	"strconv"
	"strings"
)

// Stats keys of the pipeline routes.
const (
	// RoutePipelines is the org pipeline list, GET /api/v2/pipeline.
	RoutePipelines = "GET /api/v2/pipeline"
	// RoutePipeline is GET /api/v2/pipeline/{pipeline-id}.
	RoutePipeline = "GET /api/v2/pipeline/{pipeline-id}"
	// RouteProjectPipelines is the pipeline list of a project.
	RouteProjectPipelines = "GET /api/v2/project/{project-slug}/pipeline"
	// RouteProjectPipelineNumber is a project's pipeline by number.
	RouteProjectPipelineNumber = "GET /api/v2/project/{project-slug}/pipeline/{pipeline-number}"
)

// pipelineRoutes are the pipeline operations the fake answers.
var pipelineRoutes = []apiRoute{
	{key: RoutePipelines, short: "org_pipelines", list: true, handle: (*Server).handleOrgPipelines},
	{key: RoutePipeline, short: "pipeline", handle: withID("pipeline-id", (*Server).handlePipeline)},
	{key: RouteProjectPipelines, short: "project_pipelines", list: true,
		handle: withProject((*Server).handleProjectPipelines)},
	{key: RouteProjectPipelineNumber, short: "project_pipeline_number",
		handle: withProject((*Server).handleProjectPipelineNumber)},
}

// handleOrgPipelines answers a page of the org pipeline list (org-slug, mine).
func (s *Server) handleOrgPipelines(w http.ResponseWriter, r *http.Request, _ routeArgs) {
	pr, ok := s.authorize(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	orgSlug := canonicalOrgSlug(q.Get("org-slug"))
	mine, _ := strconv.ParseBool(q.Get("mine"))
	s.mu.RLock()
	defer s.mu.RUnlock()
	meLogin := s.w.userByID[pr.meID].Login
	keep := func(p *Pipeline) bool {
		pi := s.w.pipelineProj[p.ID]
		switch {
		case pi >= pr.visible:
			return false
		case orgSlug != "" && s.w.projects[pi].OrganizationSlug != orgSlug:
			return false
		case mine && p.Trigger.Actor.Login != meLogin:
			return false
		}
		return true
	}
	sc := scope("org-pipelines", pr.name, orgSlug, strconv.FormatBool(mine))
	servePage(s, w, r, sc, pipelinePages(s.w.all, keep), toWirePipeline)
}

// canonicalOrgSlug turns the long VCS names of an org slug into the short ones.
func canonicalOrgSlug(s string) string {
	if rest, ok := strings.CutPrefix(s, "github/"); ok {
		return "gh/" + rest
	}
	if rest, ok := strings.CutPrefix(s, "bitbucket/"); ok {
		return "bb/" + rest
	}
	return s
}

// handlePipeline answers a pipeline the token sees.
func (s *Server) handlePipeline(w http.ResponseWriter, _ *http.Request, a routeArgs, pr principal) {
	p, ok := s.visiblePipeline(pr, a.id)
	if !ok {
		writeError(w, http.StatusNotFound, msgPipelineNotFound)
		return
	}
	writeJSON(w, http.StatusOK, toWirePipeline(p))
}

// handleProjectPipelines answers a page of a project's pipelines, on one branch if asked.
func (s *Server) handleProjectPipelines(w http.ResponseWriter, r *http.Request, _ routeArgs, pr principal, i int) {
	branch := r.URL.Query().Get("branch")
	keep := func(p *Pipeline) bool { return branch == "" || p.Branch() == branch }
	sc := scope("project-pipelines", pr.name, s.w.projects[i].Slug, branch)
	servePage(s, w, r, sc, pipelinePages(s.w.byProject[i], keep), toWirePipeline)
}

// handleProjectPipelineNumber answers a project's pipeline by number.
func (s *Server) handleProjectPipelineNumber(w http.ResponseWriter, _ *http.Request, a routeArgs, _ principal, i int) {
	n, err := strconv.ParseInt(a.number, 10, 64)
	if err == nil {
		for _, p := range s.w.byProject[i] {
			if p.Number == n {
				writeJSON(w, http.StatusOK, toWirePipeline(p))
				return
			}
		}
	}
	writeError(w, http.StatusNotFound, msgPipelineNotFound)
}

// visiblePipeline returns the pipeline id names if pr sees its project.
// Must be called with s.mu held.
func (s *Server) visiblePipeline(pr principal, id string) (*Pipeline, bool) {
	p, ok := s.w.pipelines[strings.ToLower(id)]
	if !ok || s.w.pipelineProj[p.ID] >= pr.visible {
		return nil, false
	}
	return p, true
}
