package circlecitest

// Expected is what a complete sync with one token can store (what it can reach under
// the current data and faults) and, in Unreachable, what it must record as skipped.
type Expected struct {
	// Me is the token's user (GET /me).
	Me User `json:"me"`
	// Collaborations is GET /me/collaborations.
	Collaborations []Collaboration `json:"collaborations"`
	// FollowedProjects is v1.1 GET /projects.
	FollowedProjects []FollowedProject `json:"followed_projects"`
	// Projects the token sees.
	Projects []Project `json:"projects"`
	// Pipelines of those projects, newest first, including the expired and
	// broken ones (they are listed).
	Pipelines []Pipeline `json:"pipelines"`
	// Workflows of the pipelines whose workflow list answers.
	Workflows []Workflow `json:"workflows"`
	// Jobs of those workflows; a job a rerun from failed reuses is in each of its workflows.
	Jobs []Job `json:"jobs"`
	// Users referenced (started_by, canceled_by, errored_by, approved_by) by
	// those workflows and jobs, except the missing ones.
	Users []User `json:"users"`
	// Unreachable are the entities a sync must put in its skipped ledger.
	Unreachable []Unreachable `json:"unreachable"`
	// MinimumRequests is the least number of API requests such a sync makes.
	MinimumRequests RequestBudget `json:"minimum_requests"`
}

// Unreachable is one entity the API refuses to give: a pipeline whose
// workflows cannot be listed, or a user that cannot be read.
type Unreachable struct {
	// Kind is UnreachablePipeline or UnreachableUser.
	Kind string `json:"kind"`
	// ID is the pipeline or user id.
	ID string `json:"id"`
	// ProjectSlug is the pipeline's project ("" for users).
	ProjectSlug string `json:"project_slug"`
	// Reason is ReasonExpired, ReasonServerError or ReasonNotFound.
	Reason string `json:"reason"`
	// HTTPStatus is what the API answers: 404 or 500.
	HTTPStatus int `json:"http_status"`
}

// Unreachable kinds and reasons.
const (
	// UnreachablePipeline: the pipeline's workflow list does not answer.
	UnreachablePipeline = "pipeline"
	// UnreachableUser: GET /user/{id} answers 404.
	UnreachableUser = "user"
	// ReasonExpired: past data retention (404 {"message":"Not Found"}).
	ReasonExpired = "expired"
	// ReasonServerError: the workflow list always answers 500.
	ReasonServerError = "server_error"
	// ReasonNotFound: the user answers 404 "User does not exist.".
	ReasonNotFound = "not_found"
)

// RequestBudget is the least number of requests a complete sync makes, by kind
// (discovery and retries not counted).
type RequestBudget struct {
	// Projects is one GET /project/{slug} per visible project.
	Projects int `json:"projects"`
	// PipelinePages is, per visible project, the pages of its pipeline list
	// (at least one, even when empty).
	PipelinePages int `json:"pipeline_pages"`
	// WorkflowPages is, per listed pipeline, the pages of its workflow list (at
	// least one: expired and broken pipelines cost their failing request).
	WorkflowPages int `json:"workflow_pages"`
	// JobPages is, per reachable workflow, the pages of its job list.
	JobPages int `json:"job_pages"`
	// Users is one GET /user/{id} per distinct user referenced by reachable
	// workflows and jobs, missing ones included.
	Users int `json:"users"`
	// Total is the sum of the above.
	Total int `json:"total"`
}

func pages(n int) int { return max(1, (n+PageSize-1)/PageSize) }

// Expected returns what a complete, correct sync with token can store, and
// what it must record as unreachable. An unknown token gets an empty Expected.
func (s *Server) Expected(token string) Expected {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ex := Expected{Collaborations: []Collaboration{}, FollowedProjects: []FollowedProject{}, Projects: []Project{},
		Pipelines: []Pipeline{}, Workflows: []Workflow{}, Jobs: []Job{}, Users: []User{}, Unreachable: []Unreachable{}}
	pr, ok := s.principalFor(token)
	if !ok {
		return ex
	}
	w := s.w
	ex.Workflows = make([]Workflow, 0, len(w.workflows))
	ex.Jobs = make([]Job, 0, len(w.jobs))
	ex.Me = w.userByID[pr.meID].clone()
	for _, c := range w.collaborations(pr) {
		ex.Collaborations = append(ex.Collaborations, c.clone())
	}
	ex.FollowedProjects = append(ex.FollowedProjects, w.followedProjects(pr)...)
	b := &ex.MinimumRequests
	for i := 0; i < pr.visible; i++ {
		ex.Projects = append(ex.Projects, *w.projects[i])
		b.Projects++
		b.PipelinePages += pages(len(w.byProject[i]))
	}
	referenced := s.expectPipelines(&ex, pr)
	for _, u := range w.users {
		if !referenced[u.ID] {
			continue
		}
		b.Users++
		if s.sets.missing[u.ID] {
			ex.Unreachable = append(ex.Unreachable, Unreachable{Kind: UnreachableUser, ID: u.ID,
				Reason: ReasonNotFound, HTTPStatus: 404})
			continue
		}
		ex.Users = append(ex.Users, u.clone())
	}
	b.Total = b.Projects + b.PipelinePages + b.WorkflowPages + b.JobPages + b.Users
	return ex
}

// expectPipelines adds the pipelines pr sees to ex, with the workflows and jobs a sync
// can reach under them, and returns the users those reference.
func (s *Server) expectPipelines(ex *Expected, pr principal) map[string]bool {
	w, b := s.w, &ex.MinimumRequests
	referenced := map[string]bool{}
	for _, p := range w.all {
		if w.pipelineProj[p.ID] >= pr.visible {
			continue
		}
		ex.Pipelines = append(ex.Pipelines, p.clone())
		wfs := w.wfByPipeline[p.ID]
		b.WorkflowPages += pages(len(wfs))
		switch {
		case s.sets.expired[p.ID]:
			ex.Unreachable = append(ex.Unreachable, Unreachable{Kind: UnreachablePipeline, ID: p.ID,
				ProjectSlug: p.ProjectSlug, Reason: ReasonExpired, HTTPStatus: 404})
			continue
		case s.sets.broken[p.ID]:
			ex.Unreachable = append(ex.Unreachable, Unreachable{Kind: UnreachablePipeline, ID: p.ID,
				ProjectSlug: p.ProjectSlug, Reason: ReasonServerError, HTTPStatus: 500})
			continue
		}
		for _, wf := range wfs {
			ex.Workflows = append(ex.Workflows, wf.clone())
			jobs := w.jobsByWf[wf.ID]
			b.JobPages += pages(len(jobs))
			for _, j := range jobs {
				ex.Jobs = append(ex.Jobs, j.clone())
			}
			for _, id := range w.workflowUserRefs(wf) {
				referenced[id] = true
			}
		}
	}
	return referenced
}

// MinimumRequests returns the least number of API requests a complete sync
// with token makes (see RequestBudget).
func (s *Server) MinimumRequests(token string) RequestBudget {
	return s.Expected(token).MinimumRequests
}

// Dataset returns a deep copy of all the current data, whatever the tokens
// see, with the ids the current faults hit.
func (s *Server) Dataset() Dataset {
	s.mu.RLock()
	defer s.mu.RUnlock()
	w := s.w
	d := Dataset{Now: w.now, Projects: []Project{}, Pipelines: []Pipeline{}, Workflows: []Workflow{}, Jobs: []Job{},
		Users: []User{}, Collaborations: []Collaboration{}, FollowedProjects: []FollowedProject{},
		MeID: w.meFull, LimitedMeID: w.meLimited}
	for _, p := range w.projects {
		d.Projects = append(d.Projects, *p)
	}
	for _, p := range w.all {
		d.Pipelines = append(d.Pipelines, p.clone())
		for _, wf := range w.wfByPipeline[p.ID] {
			d.Workflows = append(d.Workflows, wf.clone())
			for _, j := range w.jobsByWf[wf.ID] {
				d.Jobs = append(d.Jobs, j.clone())
			}
		}
	}
	for _, u := range w.users {
		d.Users = append(d.Users, u.clone())
	}
	full := principal{name: "full", meID: w.meFull, visible: len(w.projects)}
	for _, c := range w.collaborations(full) {
		d.Collaborations = append(d.Collaborations, c.clone())
	}
	d.FollowedProjects = append(d.FollowedProjects, w.followedProjects(full)...)
	d.BrokenPipelines = sortedKeys(s.sets.broken)
	d.ExpiredPipelines = sortedKeys(s.sets.expired)
	d.MissingUsers = sortedKeys(s.sets.missing)
	return d
}
