package circleci

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// Routes of the pipeline operations.
const (
	RouteOrgPipelines     = "/api/v2/pipeline"
	RouteProjectPipelines = "/api/v2/project/{project-slug}/pipeline"
	RoutePipeline         = "/api/v2/pipeline/{pipeline-id}"
)

// Query parameters of the pipeline lists.
const (
	paramBranch  = "branch"
	paramOrgSlug = "org-slug"
)

// Pipeline states (Pipeline.State), from the spec.
const (
	PipelineStateCreated      = "created"
	PipelineStateErrored      = "errored"
	PipelineStateSetupPending = "setup-pending"
	PipelineStateSetup        = "setup"
	PipelineStatePending      = "pending"
)

// IsFinalPipelineState reports "created" or "errored"; unknown states are not final,
// so they are polled again.
func IsFinalPipelineState(state string) bool {
	return state == PipelineStateCreated || state == PipelineStateErrored
}

// Pipeline is one CircleCI pipeline (spec schema "Pipeline").
type Pipeline struct {
	ID                string                     `json:"id"`
	Errors            []PipelineError            `json:"errors"`
	ProjectSlug       string                     `json:"project_slug"`
	UpdatedAt         *time.Time                 `json:"updated_at"`
	Number            int64                      `json:"number"`
	TriggerParameters map[string]json.RawMessage `json:"trigger_parameters,omitempty"`
	State             string                     `json:"state"`
	CreatedAt         time.Time                  `json:"created_at"`
	Trigger           Trigger                    `json:"trigger"`
	VCS               *VCS                       `json:"vcs,omitempty"`

	// Raw is the item exactly as CircleCI sent it.
	Raw json.RawMessage `json:"-"`
}

// PipelineError is one entry of Pipeline.Errors.
type PipelineError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// Trigger says what started a pipeline. Its actor carries a login, never a user id.
type Trigger struct {
	Type       string    `json:"type"`
	ReceivedAt time.Time `json:"received_at"`
	Actor      Actor     `json:"actor"`
}

// Actor is the login that triggered a pipeline.
type Actor struct {
	Login     string  `json:"login"`
	AvatarURL *string `json:"avatar_url"`
}

// VCS is a pipeline's version-control information. It is optional: pipelines started
// by pipeline definitions may carry their git data in TriggerParameters instead.
type VCS struct {
	ProviderName        string  `json:"provider_name"`
	OriginRepositoryURL string  `json:"origin_repository_url"`
	TargetRepositoryURL string  `json:"target_repository_url"`
	Revision            *string `json:"revision"`
	Branch              *string `json:"branch,omitempty"`
	Tag                 *string `json:"tag,omitempty"`
	ReviewID            *string `json:"review_id,omitempty"`
	ReviewURL           *string `json:"review_url,omitempty"`
	Commit              *Commit `json:"commit,omitempty"`
}

// Commit is the commit a pipeline built.
type Commit struct {
	Subject *string `json:"subject"`
	Body    *string `json:"body"`
}

// UnmarshalJSON decodes a pipeline and keeps its raw JSON.
func (p *Pipeline) UnmarshalJSON(b []byte) error {
	type plain Pipeline
	if err := json.Unmarshal(b, (*plain)(p)); err != nil {
		return err
	}
	p.Raw = keepRaw(b)
	return nil
}

// OrgPipelinesPage returns one page of an organization's pipelines, newest first. It
// covers only followed projects, at most the 250 most recently built: a discovery
// scan, not a complete history. An empty orgSlug leaves the parameter out.
func (c *Client) OrgPipelinesPage(ctx context.Context, orgSlug, pageToken string) (Page[Pipeline], error) {
	q := url.Values{}
	if orgSlug != "" {
		q.Set(paramOrgSlug, orgSlug)
	}
	setPageToken(q, pageToken)
	r := &request{method: http.MethodGet, route: RouteOrgPipelines, path: "/api/v2/pipeline", query: q}
	return getPage[Pipeline](ctx, c, r)
}

// ProjectPipelinesPage returns one page of a project's pipelines, newest first; a
// non-empty branch filters them and is sent again with every page token.
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

// ProjectPipelines iterates over a project's pipelines, newest first; stop once past
// those wanted, as each further page costs a request.
func (c *Client) ProjectPipelines(ctx context.Context, slug, branch string) iter.Seq2[Pipeline, error] {
	return items(pages(ctx, RouteProjectPipelines, func(ctx context.Context, tok string) (Page[Pipeline], error) {
		return c.ProjectPipelinesPage(ctx, slug, branch, tok)
	}))
}
