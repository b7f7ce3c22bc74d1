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

type wireProject struct {
	Slug             string      `json:"slug"`
	Name             string      `json:"name"`
	ID               string      `json:"id"`
	OrganizationName string      `json:"organization_name"`
	OrganizationSlug string      `json:"organization_slug"`
	OrganizationID   string      `json:"organization_id"`
	VCSInfo          wireVCSInfo `json:"vcs_info"`
}

type wireVCSInfo struct {
	VCSURL        string `json:"vcs_url"`
	Provider      string `json:"provider"`
	DefaultBranch string `json:"default_branch"`
}

// wireFollowedProject is an item of v1.1 GET /projects.
type wireFollowedProject struct {
	VCSURL        string         `json:"vcs_url"`
	Following     bool           `json:"following"`
	Username      string         `json:"username"`
	Reponame      string         `json:"reponame"`
	VCSType       string         `json:"vcs_type"`
	DefaultBranch string         `json:"default_branch"`
	Branches      map[string]any `json:"branches"`
}

func toWireProject(p *Project) wireProject {
	return wireProject{Slug: p.Slug, Name: p.Name, ID: p.ID, OrganizationName: p.OrganizationName,
		OrganizationSlug: p.OrganizationSlug, OrganizationID: p.OrganizationID,
		VCSInfo: wireVCSInfo{VCSURL: p.VCSInfo.VCSURL, Provider: p.VCSInfo.Provider, DefaultBranch: p.VCSInfo.DefaultBranch}}
}

func toWireFollowedProject(f FollowedProject) wireFollowedProject {
	return wireFollowedProject{VCSURL: f.VCSURL, Following: f.Following, Username: f.Username,
		Reponame: f.Reponame, VCSType: f.VCSType, DefaultBranch: f.DefaultBranch, Branches: map[string]any{}}
}
