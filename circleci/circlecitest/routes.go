package circlecitest

import (
	"net/http"
	"net/url"
	"strings"
)

// route is one CircleCI API operation the fake answers.
type route struct {
	// template is the path with parameters in braces, as in the spec, prefixed
	// with /api/v2 or /api/v1.1. "(unmatched)" for unknown paths.
	template string
	handle   func(s *Server, w http.ResponseWriter, r *http.Request, a routeArgs)
}

// routeArgs are the path parameters of a request.
type routeArgs struct {
	slug   string // project-slug, unescaped ("gh/acme/api")
	id     string // pipeline-id, workflow id or user id
	number string // pipeline-number
	name   string // workflow-name, unescaped
}

var unmatched = route{template: "(unmatched)"}

// Stats keys of the routes the fake answers: the method, a space, and the
// path template with parameters in braces as in the spec.
const (
	// RouteMe is GET /api/v2/me.
	RouteMe = "GET /api/v2/me"
	// RouteCollaborations is GET /api/v2/me/collaborations.
	RouteCollaborations = "GET /api/v2/me/collaborations"
	// RoutePipelines is the org pipeline list, GET /api/v2/pipeline.
	RoutePipelines = "GET /api/v2/pipeline"
	// RoutePipeline is GET /api/v2/pipeline/{pipeline-id}.
	RoutePipeline = "GET /api/v2/pipeline/{pipeline-id}"
	// RoutePipelineWorkflows is the workflow list of a pipeline.
	RoutePipelineWorkflows = "GET /api/v2/pipeline/{pipeline-id}/workflow"
	// RouteProject is GET /api/v2/project/{project-slug}.
	RouteProject = "GET /api/v2/project/{project-slug}"
	// RouteProjectPipelines is the pipeline list of a project.
	RouteProjectPipelines = "GET /api/v2/project/{project-slug}/pipeline"
	// RouteProjectPipelineNumber is a project's pipeline by number.
	RouteProjectPipelineNumber = "GET /api/v2/project/{project-slug}/pipeline/{pipeline-number}"
	// RouteWorkflow is GET /api/v2/workflow/{id}.
	RouteWorkflow = "GET /api/v2/workflow/{id}"
	// RouteWorkflowJobs is the job list of a workflow.
	RouteWorkflowJobs = "GET /api/v2/workflow/{id}/job"
	// RouteUser is GET /api/v2/user/{id}.
	RouteUser = "GET /api/v2/user/{id}"
	// RouteFollowedProjects is v1.1 GET /api/v1.1/projects.
	RouteFollowedProjects = "GET /api/v1.1/projects"
)

// pathOf returns the path template of a Stats route key.
func pathOf(key string) string { return strings.TrimPrefix(key, "GET ") }

// matchRoute finds the route of a request from its escaped path, so that a
// project slug may come with its slashes raw or escaped as %2F.
func matchRoute(r *http.Request) (route, routeArgs) {
	esc := r.URL.EscapedPath()
	if esc == pathOf(RouteFollowedProjects) {
		return route{pathOf(RouteFollowedProjects), (*Server).handleFollowedProjects}, routeArgs{}
	}
	rest, ok := strings.CutPrefix(esc, "/api/v2/")
	if !ok {
		return unmatched, routeArgs{}
	}
	segs := strings.Split(rest, "/")
	if segs[0] == "insights" {
		return matchInsightsRoute(segs[1:])
	}
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil || u == "" {
			return unmatched, routeArgs{}
		}
		segs[i] = u
	}
	switch segs[0] {
	case "me":
		switch {
		case len(segs) == 1:
			return route{pathOf(RouteMe), (*Server).handleMe}, routeArgs{}
		case len(segs) == 2 && segs[1] == "collaborations":
			return route{pathOf(RouteCollaborations), (*Server).handleCollaborations}, routeArgs{}
		}
	case "pipeline":
		switch {
		case len(segs) == 1:
			return route{pathOf(RoutePipelines), (*Server).handleOrgPipelines}, routeArgs{}
		case len(segs) == 2:
			return route{pathOf(RoutePipeline), withID("pipeline-id", (*Server).handlePipeline)}, routeArgs{id: segs[1]}
		case len(segs) == 3 && segs[2] == "workflow":
			return route{pathOf(RoutePipelineWorkflows), withID("pipeline-id", (*Server).handlePipelineWorkflows)}, routeArgs{id: segs[1]}
		}
	case "workflow":
		switch {
		case len(segs) == 2:
			return route{pathOf(RouteWorkflow), withID("id", (*Server).handleWorkflow)}, routeArgs{id: segs[1]}
		case len(segs) == 3 && segs[2] == "job":
			return route{pathOf(RouteWorkflowJobs), withID("id", (*Server).handleWorkflowJobs)}, routeArgs{id: segs[1]}
		}
	case "user":
		if len(segs) == 2 {
			return route{pathOf(RouteUser), withID("id", (*Server).handleUser)}, routeArgs{id: segs[1]}
		}
	case "project":
		return matchProjectRoute(segs[1:])
	}
	return unmatched, routeArgs{}
}

// matchProjectRoute matches the segments after /project/: a slug of three parts,
// whatever escaping the client used, then the route's tail.
func matchProjectRoute(segs []string) (route, routeArgs) {
	parts := strings.Split(strings.Join(segs, "/"), "/")
	if len(parts) < 3 {
		return unmatched, routeArgs{}
	}
	a := routeArgs{slug: strings.Join(parts[:3], "/")}
	switch tail := parts[3:]; {
	case len(tail) == 0:
		return route{pathOf(RouteProject), withProject((*Server).handleProject)}, a
	case len(tail) == 1 && tail[0] == "pipeline":
		return route{pathOf(RouteProjectPipelines), withProject((*Server).handleProjectPipelines)}, a
	case len(tail) == 2 && tail[0] == "pipeline":
		a.number = tail[1]
		return route{pathOf(RouteProjectPipelineNumber), withProject((*Server).handleProjectPipelineNumber)}, a
	}
	return unmatched, routeArgs{}
}
