package circleci

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// Routes of the project operations.
const (
	RouteFollowedProjects = "/api/v1.1/projects"
	RouteProject          = "/api/v2/project/{project-slug}"
)

// Project is a CircleCI project (spec schema "Project").
type Project struct {
	ID               string  `json:"id"`
	Slug             string  `json:"slug"`
	Name             string  `json:"name"`
	OrganizationName string  `json:"organization_name"`
	OrganizationSlug string  `json:"organization_slug"`
	OrganizationID   string  `json:"organization_id"`
	VCSInfo          VCSInfo `json:"vcs_info"`

	// Raw is the item exactly as CircleCI sent it.
	Raw json.RawMessage `json:"-"`
}

// VCSInfo is a project's repository.
type VCSInfo struct {
	VCSURL        string `json:"vcs_url"`
	Provider      string `json:"provider"`
	DefaultBranch string `json:"default_branch"`
}

// FollowedProject is one item of the v1.1 GET /projects list: a project the token's
// user follows. It carries no slug; Slug builds one from VCSURL.
type FollowedProject struct {
	VCSURL   string `json:"vcs_url"`
	Username string `json:"username"`
	Reponame string `json:"reponame"`
	VCSType  string `json:"vcs_type,omitempty"`

	// Raw is the item exactly as CircleCI sent it.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes a project and keeps its raw JSON.
func (p *Project) UnmarshalJSON(b []byte) error {
	type plain Project
	if err := json.Unmarshal(b, (*plain)(p)); err != nil {
		return err
	}
	p.Raw = keepRaw(b)
	return nil
}

// UnmarshalJSON decodes a followed project and keeps its raw JSON.
func (f *FollowedProject) UnmarshalJSON(b []byte) error {
	type plain FollowedProject
	if err := json.Unmarshal(b, (*plain)(f)); err != nil {
		return err
	}
	f.Raw = keepRaw(b)
	return nil
}

// Project returns the project with slug slug, sent path-escaped as one segment. A
// project gone or not visible gives NotFoundProject.
func (c *Client) Project(ctx context.Context, slug string) (Project, error) {
	if slug == "" {
		return Project{}, invalidArgument(http.MethodGet, RouteProject, "empty project slug")
	}
	r := &request{method: http.MethodGet, route: RouteProject, path: "/api/v2/project/" + escapeSegment(slug)}
	return get(ctx, c, r, decodeObject[Project])
}

// FollowedProjects returns the projects the token's user follows (v1.1 /projects, not
// paginated): the only documented way to list projects.
func (c *Client) FollowedProjects(ctx context.Context) ([]FollowedProject, error) {
	r := &request{method: http.MethodGet, route: RouteFollowedProjects, path: "/api/v1.1/projects"}
	return get(ctx, c, r, decodeArray[FollowedProject])
}

// Slug guesses the v2 slug of a followed project, which v1.1 does not send, from the
// VCS URL's host (github.com, bitbucket.org, circleci.com) or else VCSType, as
// CircleCI's CLI does; "" when it cannot tell. The slug CircleCI reports wins.
func (f FollowedProject) Slug() string {
	host, segs := splitVCSURL(f.VCSURL)
	org, repo := f.Username, f.Reponame
	if (org == "" || repo == "") && len(segs) >= 2 {
		org, repo = segs[0], segs[1]
	}
	var prefix string
	switch host {
	case "github.com":
		prefix = "gh"
	case "bitbucket.org":
		prefix = "bb"
	case "circleci.com":
		prefix = "circleci"
	default:
		switch vt := strings.ToLower(strings.TrimSpace(f.VCSType)); vt {
		case "github":
			prefix = "gh"
		case "bitbucket":
			prefix = "bb"
		default:
			prefix = vt
		}
	}
	if prefix == "circleci" {
		if len(segs) < 2 {
			return ""
		}
		org, repo = segs[0], segs[1]
	}
	if prefix == "" || org == "" || repo == "" {
		return ""
	}
	return prefix + "/" + org + "/" + repo
}

// splitVCSURL returns the lowercased host and the path segments of a repository URL
// (https, "//host/…" or "git@host:…" forms), without a ".git" suffix.
func splitVCSURL(raw string) (host string, segs []string) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", nil
	}
	if !strings.Contains(raw, "://") && !strings.HasPrefix(raw, "//") {
		// scp-like "git@host:org/repo.git"
		if at := strings.Index(raw, "@"); at >= 0 {
			if colon := strings.Index(raw[at:], ":"); colon > 0 {
				raw = "//" + raw[at+1:at+colon] + "/" + raw[at+colon+1:]
			}
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", nil
	}
	host = strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
	for _, s := range strings.Split(u.Path, "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	if len(segs) >= 2 {
		segs[1] = strings.TrimSuffix(segs[1], ".git")
	}
	return host, segs
}
