package circleci

import (
	"net/url"
	"strings"
)

// Route templates of the operations this client calls. They name a request in
// Error.Route and in Observer calls, and never contain ids, slugs or tokens.
const (
	RouteMe               = "/api/v2/me"
	RouteCollaborations   = "/api/v2/me/collaborations"
	RouteFollowedProjects = "/api/v1.1/projects"
	RouteProject          = "/api/v2/project/{project-slug}"
	RouteOrgPipelines     = "/api/v2/pipeline"
	RouteProjectPipelines = "/api/v2/project/{project-slug}/pipeline"
	RoutePipeline         = "/api/v2/pipeline/{pipeline-id}"
	RoutePipelineWorkflow = "/api/v2/pipeline/{pipeline-id}/workflow"
	RouteWorkflow         = "/api/v2/workflow/{id}"
	RouteWorkflowJobs     = "/api/v2/workflow/{id}/job"
	RouteUser             = "/api/v2/user/{id}"
)

// Query parameter names.
const (
	paramPageToken = "page-token"
	paramBranch    = "branch"
	paramOrgSlug   = "org-slug"
)

// escapeSegment escapes s as one path segment: "/" and "%" escaped, and a dots-only
// segment encoded so that it is not read as "." or "..".
func escapeSegment(s string) string {
	e := url.PathEscape(s)
	if strings.Trim(e, ".") == "" {
		return strings.Repeat("%2E", len(e))
	}
	return e
}
