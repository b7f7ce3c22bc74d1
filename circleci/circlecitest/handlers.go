package circlecitest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// contentTypeJSON is the Content-Type of every JSON answer, as CircleCI sends it.
const contentTypeJSON = "application/json;charset=utf-8"

// writeJSON answers status with v encoded as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"message":"Internal server error."}`)
	}
	w.Header().Set("Content-Type", contentTypeJSON)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError answers status with CircleCI's error body {"message": msg}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, wireError{Message: msg})
}

// isUUID reports whether s is a UUID in its canonical text form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// checkUUID answers 400 and returns false when id is not a UUID.
func checkUUID(w http.ResponseWriter, param, id string) bool {
	if isUUID(id) {
		return true
	}
	writeError(w, http.StatusBadRequest, "Invalid input: "+param+" must be a UUID")
	return false
}

// pageCursor decodes the page-token query parameter against scope. An absent
// or empty token is the first page (nil cursor). ok is false, after answering
// 400, for a token that does not belong to this list.
func (s *Server) pageCursor(w http.ResponseWriter, r *http.Request, scope string) (c *cursor, ok bool) {
	t := r.URL.Query().Get("page-token")
	if t == "" {
		return nil, true
	}
	got, err := s.pager.decode(scope, t)
	if err != nil {
		writeError(w, http.StatusBadRequest, msgBadPageToken)
		return nil, false
	}
	return &got, true
}

// nextToken returns the next_page_token value for a next-page cursor.
func (s *Server) nextToken(scope string, next *cursor) *string {
	if next == nil {
		return nil
	}
	t := s.pager.encode(scope, *next)
	return &t
}

// scope names a list for page tokens.
func scope(parts ...string) string { return strings.Join(parts, "\x1f") }

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request, _ routeArgs) {
	pr, msg, ok := s.authenticate(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, msg)
		return
	}
	s.mu.RLock()
	out := toWireUser(s.w.userByID[pr.meID])
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleCollaborations(w http.ResponseWriter, r *http.Request, _ routeArgs) {
	pr, msg, ok := s.authenticate(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, msg)
		return
	}
	s.mu.RLock()
	out := []wireCollaboration{}
	for _, c := range s.w.collaborations(pr) {
		out = append(out, toWireCollaboration(c))
	}
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleOrgPipelines(w http.ResponseWriter, r *http.Request, _ routeArgs) {
	pr, msg, ok := s.authenticate(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, msg)
		return
	}
	q := r.URL.Query()
	orgSlug := canonicalOrgSlug(q.Get("org-slug"))
	mine, _ := strconv.ParseBool(q.Get("mine"))
	sc := scope("org-pipelines", pr.name, orgSlug, strconv.FormatBool(mine))
	after, ok := s.pageCursor(w, r, sc)
	if !ok {
		return
	}
	s.mu.RLock()
	meLogin := s.w.userByID[pr.meID].Login
	keep := func(p *Pipeline) bool {
		pi := s.w.pipelineProj[p.ID]
		switch {
		case pi >= pr.visible:
			return false
		case orgSlug != "" && s.w.projects[pi].OrganizationSlug != orgSlug:
			return false
		case mine && p.Trigger.Actor.Login != meLogin:
			return false
		}
		return true
	}
	items, next := pagePipelines(s.w.all, keep, after)
	out := wireList[wirePipeline]{Items: []wirePipeline{}, NextPageToken: s.nextToken(sc, next)}
	for _, p := range items {
		out.Items = append(out.Items, toWirePipeline(p))
	}
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, out)
}

// canonicalOrgSlug turns the long VCS names of an org slug into the short ones.
func canonicalOrgSlug(s string) string {
	if rest, ok := strings.CutPrefix(s, "github/"); ok {
		return "gh/" + rest
	}
	if rest, ok := strings.CutPrefix(s, "bitbucket/"); ok {
		return "bb/" + rest
	}
	return s
}

// visibleProject returns the index of the project slug names, if pr sees it.
// Must be called with s.mu held.
func (s *Server) visibleProject(pr principal, slug string) (int, bool) {
	i, ok := s.w.slugIndex[slug]
	if !ok || i >= pr.visible {
		return 0, false
	}
	return i, true
}

func (s *Server) handleProject(w http.ResponseWriter, r *http.Request, a routeArgs) {
	// Project routes answer 404, not 401, to a bad token: CircleCI does not
	// tell "no such project" from "no access".
	pr, _, ok := s.authenticate(r)
	if !ok {
		writeError(w, http.StatusNotFound, msgProjectNotFound)
		return
	}
	s.mu.RLock()
	i, ok := s.visibleProject(pr, a.slug)
	var out wireProject
	if ok {
		out = toWireProject(s.w.projects[i])
	}
	s.mu.RUnlock()
	if !ok {
		writeError(w, http.StatusNotFound, msgProjectNotFound)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleProjectPipelines(w http.ResponseWriter, r *http.Request, a routeArgs) {
	pr, _, ok := s.authenticate(r)
	if !ok {
		writeError(w, http.StatusNotFound, msgProjectNotFound)
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.visibleProject(pr, a.slug)
	if !ok {
		writeError(w, http.StatusNotFound, msgProjectNotFound)
		return
	}
	branch := r.URL.Query().Get("branch")
	sc := scope("project-pipelines", pr.name, s.w.projects[i].Slug, branch)
	after, ok := s.pageCursor(w, r, sc)
	if !ok {
		return
	}
	keep := func(p *Pipeline) bool { return branch == "" || p.Branch() == branch }
	items, next := pagePipelines(s.w.byProject[i], keep, after)
	out := wireList[wirePipeline]{Items: []wirePipeline{}, NextPageToken: s.nextToken(sc, next)}
	for _, p := range items {
		out.Items = append(out.Items, toWirePipeline(p))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleProjectPipelineNumber(w http.ResponseWriter, r *http.Request, a routeArgs) {
	pr, _, ok := s.authenticate(r)
	if !ok {
		writeError(w, http.StatusNotFound, msgProjectNotFound)
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.visibleProject(pr, a.slug)
	if !ok {
		writeError(w, http.StatusNotFound, msgProjectNotFound)
		return
	}
	n, err := strconv.ParseInt(a.number, 10, 64)
	if err == nil {
		for _, p := range s.w.byProject[i] {
			if p.Number == n {
				writeJSON(w, http.StatusOK, toWirePipeline(p))
				return
			}
		}
	}
	writeError(w, http.StatusNotFound, msgPipelineNotFound)
}

// visiblePipeline returns the pipeline id names if pr sees its project.
// Must be called with s.mu held.
func (s *Server) visiblePipeline(pr principal, id string) (*Pipeline, bool) {
	p, ok := s.w.pipelines[strings.ToLower(id)]
	if !ok || s.w.pipelineProj[p.ID] >= pr.visible {
		return nil, false
	}
	return p, true
}

// visibleWorkflow returns the workflow id names if pr sees its project.
// Must be called with s.mu held.
func (s *Server) visibleWorkflow(pr principal, id string) (*Workflow, bool) {
	wf, ok := s.w.workflows[strings.ToLower(id)]
	if !ok || s.w.pipelineProj[wf.PipelineID] >= pr.visible {
		return nil, false
	}
	return wf, true
}

func (s *Server) handlePipeline(w http.ResponseWriter, r *http.Request, a routeArgs) {
	pr, msg, ok := s.authenticate(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, msg)
		return
	}
	if !checkUUID(w, "pipeline-id", a.id) {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.visiblePipeline(pr, a.id)
	if !ok {
		writeError(w, http.StatusNotFound, msgPipelineNotFound)
		return
	}
	writeJSON(w, http.StatusOK, toWirePipeline(p))
}

func (s *Server) handlePipelineWorkflows(w http.ResponseWriter, r *http.Request, a routeArgs) {
	pr, msg, ok := s.authenticate(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, msg)
		return
	}
	if !checkUUID(w, "pipeline-id", a.id) {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
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
	after, ok := s.pageCursor(w, r, sc)
	if !ok {
		return
	}
	items, next, ok := pageByID(s.w.wfByPipeline[p.ID], func(wf *Workflow) string { return wf.ID }, after)
	if !ok {
		writeError(w, http.StatusBadRequest, msgBadPageToken)
		return
	}
	out := wireList[wireWorkflow]{Items: []wireWorkflow{}, NextPageToken: s.nextToken(sc, next)}
	for _, wf := range items {
		out.Items = append(out.Items, toWireWorkflow(wf))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleWorkflow(w http.ResponseWriter, r *http.Request, a routeArgs) {
	pr, msg, ok := s.authenticate(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, msg)
		return
	}
	if !checkUUID(w, "id", a.id) {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	wf, ok := s.visibleWorkflow(pr, a.id)
	switch {
	case !ok:
		writeError(w, http.StatusNotFound, msgWorkflowNotFound)
	case s.sets.expired[wf.PipelineID]:
		writeError(w, http.StatusNotFound, msgNotFound)
	default:
		writeJSON(w, http.StatusOK, toWireWorkflow(wf))
	}
}

func (s *Server) handleWorkflowJobs(w http.ResponseWriter, r *http.Request, a routeArgs) {
	pr, msg, ok := s.authenticate(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, msg)
		return
	}
	if !checkUUID(w, "id", a.id) {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	wf, ok := s.visibleWorkflow(pr, a.id)
	switch {
	case !ok:
		writeError(w, http.StatusNotFound, msgWorkflowNotFound)
		return
	case s.sets.expired[wf.PipelineID]:
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	sc := scope("workflow-jobs", pr.name, wf.ID)
	after, ok := s.pageCursor(w, r, sc)
	if !ok {
		return
	}
	items, next, ok := pageByID(s.w.jobsByWf[wf.ID], func(j *Job) string { return j.ID }, after)
	if !ok {
		writeError(w, http.StatusBadRequest, msgBadPageToken)
		return
	}
	out := wireList[wireJob]{Items: []wireJob{}, NextPageToken: s.nextToken(sc, next)}
	for _, j := range items {
		out.Items = append(out.Items, toWireJob(j))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleUser(w http.ResponseWriter, r *http.Request, a routeArgs) {
	_, msg, ok := s.authenticate(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, msg)
		return
	}
	if !checkUUID(w, "id", a.id) {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, ok := s.w.userByID[strings.ToLower(a.id)]
	if !ok || s.sets.missing[u.ID] {
		writeError(w, http.StatusNotFound, msgUserNotFound)
		return
	}
	writeJSON(w, http.StatusOK, toWireUser(u))
}

// handleFollowedProjects answers v1.1 GET /projects. Like CircleCI's v1.1, it
// answers JSON only when the Accept header asks for it, and EDN otherwise.
func (s *Server) handleFollowedProjects(w http.ResponseWriter, r *http.Request, _ routeArgs) {
	pr, _, ok := s.authenticate(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, msgLogIn)
		return
	}
	s.mu.RLock()
	out := []wireFollowedProject{}
	for _, f := range s.w.followedProjects(pr) {
		out = append(out, toWireFollowedProject(f))
	}
	s.mu.RUnlock()
	if !strings.Contains(r.Header.Get("Accept"), "json") {
		writeEDN(w, http.StatusOK, out)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
