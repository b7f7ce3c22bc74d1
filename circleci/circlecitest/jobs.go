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

func (s *Server) handleWorkflowJobs(w http.ResponseWriter, r *http.Request, a routeArgs, pr principal) {
	if wf, ok := s.lookupWorkflow(w, pr, a.id); ok {
		sc := scope("workflow-jobs", pr.name, wf.ID)
		servePage(s, w, r, sc, idPages(s.w.jobsByWf[wf.ID], func(j *Job) string { return j.ID }), toWireJob)
	}
}

// wireJob sends started_at null for jobs that never started and leaves
// job_number out for them and for approval jobs, as CircleCI does.
type wireJob struct {
	CanceledBy        string              `json:"canceled_by,omitempty"`
	Dependencies      []string            `json:"dependencies"`
	JobNumber         *int64              `json:"job_number,omitempty"`
	ID                string              `json:"id"`
	StartedAt         *wireTime           `json:"started_at"`
	Name              string              `json:"name"`
	ApprovedBy        string              `json:"approved_by,omitempty"`
	ProjectSlug       string              `json:"project_slug"`
	Status            string              `json:"status"`
	Type              string              `json:"type"`
	Requires          map[string][]string `json:"requires,omitempty"`
	StoppedAt         *wireTime           `json:"stopped_at"`
	ApprovalRequestID string              `json:"approval_request_id,omitempty"`
}

func toWireJob(j *Job) wireJob {
	return wireJob{CanceledBy: j.CanceledBy, Dependencies: j.Dependencies, JobNumber: j.JobNumber, ID: j.ID,
		StartedAt: wtp(j.StartedAt), Name: j.Name, ApprovedBy: j.ApprovedBy, ProjectSlug: j.ProjectSlug,
		Status: j.Status, Type: j.Type, Requires: j.Requires, StoppedAt: wtp(j.StoppedAt),
		ApprovalRequestID: j.ApprovalRequestID}
}
