package circleci

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// Project returns the project with slug slug (GET /api/v2/project/{project-slug}).
// The slug is sent path-escaped ("gh%2Facme%2Fwidgets"), as one segment. A project
// that is gone or not visible to the token gives ClassNotFound with
// NotFoundProject (see Error.ProjectMissing).
func (c *Client) Project(ctx context.Context, slug string) (Project, error) {
	if slug == "" {
		return Project{}, invalidArgument(http.MethodGet, RouteProject, "empty project slug")
	}
	r := &request{method: http.MethodGet, route: RouteProject, path: "/api/v2/project/" + escapeSegment(slug)}
	return get(ctx, c, r, decodeObject[Project])
}

// FollowedProjects returns the projects the token's user follows (GET
// /api/v1.1/projects, a bare array, not paginated). It is the only documented way to
// list projects, and covers followed projects only. See FollowedProject.Slug.
func (c *Client) FollowedProjects(ctx context.Context) ([]FollowedProject, error) {
	r := &request{method: http.MethodGet, route: RouteFollowedProjects, path: "/api/v1.1/projects"}
	return get(ctx, c, r, decodeArray[FollowedProject])
}

// Slug builds the v2 project slug of a followed project, which v1.1 does not send:
//
//   - a VCSURL on github.com gives "gh/<username>/<reponame>", on bitbucket.org
//     "bb/<username>/<reponame>" (the Username and Reponame fields, else the first
//     two segments of the URL path, without a ".git" suffix);
//   - a VCSURL on circleci.com, "//circleci.com/<org-id>/<project-id>" as
//     GitHub App, GitLab and standalone projects have, gives
//     "circleci/<org-id>/<project-id>";
//   - another host (GitHub Enterprise on CircleCI Server...) falls back on VCSType,
//     as CircleCI's CLI does: "github" gives "gh/...", "bitbucket" "bb/...",
//     "circleci" "circleci/<first two URL segments>", and any other value itself,
//     lowercased.
//
// It returns "" when it cannot tell. A slug built here is a best guess: slugs are
// opaque, and the one CircleCI reports (Project.Slug, Pipeline.ProjectSlug) wins.
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

// splitVCSURL returns the lowercased host (without "www." or port) and the non-empty
// path segments of a repository URL: "https://github.com/acme/widgets",
// "//circleci.com/<org>/<project>" or "git@github.com:acme/widgets.git". A ".git"
// suffix is dropped from the second segment.
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
