package circlecitest

import (
	"net/http"
	"strings"
)

// Stats keys of the project routes.
const (
	// RouteProject is GET /api/v2/project/{project-slug}.
	RouteProject = "GET /api/v2/project/{project-slug}"
	// RouteFollowedProjects is v1.1 GET /api/v1.1/projects.
	RouteFollowedProjects = "GET /api/v1.1/projects"
)

// projectRoutes are the project operations the fake answers.
var projectRoutes = []apiRoute{
	{key: RouteProject, short: "project", handle: withProject((*Server).handleProject)},
	{key: RouteFollowedProjects, short: "followed_projects", handle: (*Server).handleFollowedProjects},
}

// handleProject answers a project the token sees.
func (s *Server) handleProject(w http.ResponseWriter, _ *http.Request, _ routeArgs, _ principal, i int) {
	writeJSON(w, http.StatusOK, toWireProject(s.w.projects[i]))
}

// handleFollowedProjects answers v1.1 GET /projects. Like CircleCI's v1.1, it
// answers JSON only when the Accept header asks for it, and EDN otherwise.
func (s *Server) handleFollowedProjects(w http.ResponseWriter, r *http.Request, _ routeArgs) {
	pr, _, ok := s.authenticate(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, msgLogIn)
		return
	}
	s.mu.RLock()
	out := []wireFollowedProject{}
	for _, f := range s.w.followedProjects(pr) {
		out = append(out, toWireFollowedProject(f))
	}
	s.mu.RUnlock()
	if !strings.Contains(r.Header.Get("Accept"), "json") {
		writeEDN(w, http.StatusOK, out)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
