package circleci

import (
	"context"
	"iter"
	"net/http"
	"net/url"
)

// OrgPipelinesPage returns one page of the pipelines of an organization (GET
// /api/v2/pipeline?org-slug=), newest first. CircleCI covers only the projects the
// token's user follows, at most the 250 most recently built: it is a discovery
// scan, not a complete history. orgSlug is "gh/<org>", "bb/<workspace>" or
// "circleci/<org-id>"; empty leaves the parameter out. pageToken is "" for the first
// page, else a previous page's NextPageToken.
func (c *Client) OrgPipelinesPage(ctx context.Context, orgSlug, pageToken string) (Page[Pipeline], error) {
	q := url.Values{}
	if orgSlug != "" {
		q.Set(paramOrgSlug, orgSlug)
	}
	setPageToken(q, pageToken)
	r := &request{method: http.MethodGet, route: RouteOrgPipelines, path: "/api/v2/pipeline", query: q}
	return getPage[Pipeline](ctx, c, r)
}

// ProjectPipelinesPage returns one page of the pipelines of a project (GET
// /api/v2/project/{project-slug}/pipeline), newest first. branch, when not empty,
// keeps that branch only (tag pipelines are then left out) and is sent again with
// every page token, as CircleCI requires.
func (c *Client) ProjectPipelinesPage(ctx context.Context, slug, branch, pageToken string) (Page[Pipeline], error) {
	if slug == "" {
		return Page[Pipeline]{}, invalidArgument(http.MethodGet, RouteProjectPipelines, "empty project slug")
	}
	q := url.Values{}
	if branch != "" {
		q.Set(paramBranch, branch)
	}
	setPageToken(q, pageToken)
	r := &request{
		method: http.MethodGet,
		route:  RouteProjectPipelines,
		path:   "/api/v2/project/" + escapeSegment(slug) + "/pipeline",
		query:  q,
	}
	return getPage[Pipeline](ctx, c, r)
}

// Pipeline returns the pipeline with id id (GET /api/v2/pipeline/{pipeline-id}).
func (c *Client) Pipeline(ctx context.Context, id string) (Pipeline, error) {
	if id == "" {
		return Pipeline{}, invalidArgument(http.MethodGet, RoutePipeline, "empty pipeline id")
	}
	r := &request{method: http.MethodGet, route: RoutePipeline, path: "/api/v2/pipeline/" + escapeSegment(id)}
	return get(ctx, c, r, decodeObject[Pipeline])
}

// OrgPipelines iterates over the pipelines of OrgPipelinesPage, page after page
// (see Items).
func (c *Client) OrgPipelines(ctx context.Context, orgSlug string) iter.Seq2[Pipeline, error] {
	return items(pages(ctx, RouteOrgPipelines, func(ctx context.Context, tok string) (Page[Pipeline], error) {
		return c.OrgPipelinesPage(ctx, orgSlug, tok)
	}))
}

// ProjectPipelines iterates over the pipelines of a project, newest first, page
// after page (see Items). Stop the loop once past the pipelines wanted: every
// further item costs requests.
func (c *Client) ProjectPipelines(ctx context.Context, slug, branch string) iter.Seq2[Pipeline, error] {
	return items(pages(ctx, RouteProjectPipelines, func(ctx context.Context, tok string) (Page[Pipeline], error) {
		return c.ProjectPipelinesPage(ctx, slug, branch, tok)
	}))
}

// setPageToken adds the page-token parameter, left out for the first page.
func setPageToken(q url.Values, pageToken string) {
	if pageToken != "" {
		q.Set(paramPageToken, pageToken)
	}
}
