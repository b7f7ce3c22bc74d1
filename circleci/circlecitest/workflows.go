package circlecitest

import (
	"net/http"
	"strings"
)

// Stats keys of the workflow routes.
const (
	// RoutePipelineWorkflows is the workflow list of a pipeline.
	RoutePipelineWorkflows = "GET /api/v2/pipeline/{pipeline-id}/workflow"
	// RouteWorkflow is GET /api/v2/workflow/{id}.
	RouteWorkflow = "GET /api/v2/workflow/{id}"
)

// workflowRoutes are the workflow operations the fake answers.
var workflowRoutes = []apiRoute{
	{key: RoutePipelineWorkflows, short: "pipeline_workflows", list: true,
		handle: withID("pipeline-id", (*Server).handlePipelineWorkflows)},
	{key: RouteWorkflow, short: "workflow", handle: withID("id", (*Server).handleWorkflow)},
}

func (s *Server) handlePipelineWorkflows(w http.ResponseWriter, r *http.Request, a routeArgs, pr principal) {
	p, ok := s.visiblePipeline(pr, a.id)
	switch {
	case !ok:
		writeError(w, http.StatusNotFound, msgPipelineNotFound)
		return
	case s.sets.expired[p.ID]:
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	case s.sets.broken[p.ID]:
		writeError(w, http.StatusInternalServerError, msgInternal)
		return
	}
	sc := scope("pipeline-workflows", pr.name, p.ID)
	servePage(s, w, r, sc, idPages(s.w.wfByPipeline[p.ID], func(wf *Workflow) string { return wf.ID }), toWireWorkflow)
}

func (s *Server) handleWorkflow(w http.ResponseWriter, _ *http.Request, a routeArgs, pr principal) {
	if wf, ok := s.lookupWorkflow(w, pr, a.id); ok {
		writeJSON(w, http.StatusOK, toWireWorkflow(wf))
	}
}

// lookupWorkflow returns a workflow pr may see and that is not expired, else answers
// 404. Call it with s.mu held.
func (s *Server) lookupWorkflow(w http.ResponseWriter, pr principal, id string) (*Workflow, bool) {
	wf, ok := s.w.workflows[strings.ToLower(id)]
	switch {
	case !ok || s.w.pipelineProj[wf.PipelineID] >= pr.visible:
		writeError(w, http.StatusNotFound, msgWorkflowNotFound)
		return nil, false
	case s.sets.expired[wf.PipelineID]:
		writeError(w, http.StatusNotFound, msgNotFound)
		return nil, false
	}
	return wf, true
}

type wireWorkflow struct {
	PipelineID      string    `json:"pipeline_id"`
	CanceledBy      string    `json:"canceled_by,omitempty"`
	ID              string    `json:"id"`
	AutoRerunNumber int64     `json:"auto_rerun_number,omitempty"`
	Name            string    `json:"name"`
	ProjectSlug     string    `json:"project_slug"`
	ErroredBy       string    `json:"errored_by,omitempty"`
	Tag             string    `json:"tag,omitempty"`
	Status          string    `json:"status"`
	StartedBy       string    `json:"started_by"`
	MaxAutoReruns   int64     `json:"max_auto_reruns,omitempty"`
	PipelineNumber  int64     `json:"pipeline_number"`
	CreatedAt       wireTime  `json:"created_at"`
	StoppedAt       *wireTime `json:"stopped_at"`
}

func toWireWorkflow(w *Workflow) wireWorkflow {
	return wireWorkflow{PipelineID: w.PipelineID, CanceledBy: w.CanceledBy, ID: w.ID,
		AutoRerunNumber: w.AutoRerunNumber, Name: w.Name, ProjectSlug: w.ProjectSlug, ErroredBy: w.ErroredBy,
		Tag: w.Tag, Status: w.Status, StartedBy: w.StartedBy, MaxAutoReruns: w.MaxAutoReruns,
		PipelineNumber: w.PipelineNumber, CreatedAt: wireTime(w.CreatedAt), StoppedAt: wtp(w.StoppedAt)}
}
