package circlecitest

import (
	"net/http"
)

// RouteWorkflowJobs is the Stats key of a workflow's job list.
const RouteWorkflowJobs = "GET /api/v2/workflow/{id}/job"

// jobRoutes are the job operations the fake answers.
var jobRoutes = []apiRoute{
	{key: RouteWorkflowJobs, short: "workflow_jobs", list: true, handle: withID("id", (*Server).handleWorkflowJobs)},
}

// handleWorkflowJobs answers a page of a workflow's jobs.
func (s *Server) handleWorkflowJobs(w http.ResponseWriter, r *http.Request, a routeArgs, pr principal) {
	if wf, ok := s.lookupWorkflow(w, pr, a.id); ok {
		sc := scope("workflow-jobs", pr.name, wf.ID)
		servePage(s, w, r, sc, idPages(s.w.jobsByWf[wf.ID], func(j *Job) string { return j.ID }), toWireJob)
	}
}
