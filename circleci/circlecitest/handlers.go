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

// pageCursor decodes the page-token against scope (none: nil, the first page); ok is
// false, after answering 400, for a token of another list.
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

// pageFunc returns the page after the cursor and the next cursor (nil on the last
// page); ok is false when the list no longer holds the cursor's item.
type pageFunc[T any] func(after *cursor) (page []T, next *cursor, ok bool)

// pipelinePages pages src with pagePipelines, keeping the pipelines that pass
// keep.
func pipelinePages(src []*Pipeline, keep func(*Pipeline) bool) pageFunc[*Pipeline] {
	return func(after *cursor) ([]*Pipeline, *cursor, bool) {
		page, next := pagePipelines(src, keep, after)
		return page, next, true
	}
}

// idPages pages items with pageByID.
func idPages[T any](items []T, id func(T) string) pageFunc[T] {
	return func(after *cursor) ([]T, *cursor, bool) { return pageByID(items, id, after) }
}

// servePage answers one page of list sc in wire form, with the next page's token; a
// foreign or stale page-token answers 400. Call it with s.mu held.
func servePage[T, W any](s *Server, w http.ResponseWriter, r *http.Request, sc string, pages pageFunc[T], toWire func(T) W) {
	after, ok := s.pageCursor(w, r, sc)
	if !ok {
		return
	}
	items, next, ok := pages(after)
	if !ok {
		writeError(w, http.StatusBadRequest, msgBadPageToken)
		return
	}
	out := wireList[W]{Items: []W{}, NextPageToken: s.nextToken(sc, next)}
	for _, it := range items {
		out.Items = append(out.Items, toWire(it))
	}
	writeJSON(w, http.StatusOK, out)
}

// authorize returns the principal of the request's token. Without a valid
// token it answers 401 with authenticate's message and returns false.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) (principal, bool) {
	pr, msg, ok := s.authenticate(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, msg)
	}
	return pr, ok
}

// idHandler answers a route with an id in its path for pr, the principal of
// the request's token, with s.mu read-locked.
type idHandler func(s *Server, w http.ResponseWriter, r *http.Request, a routeArgs, pr principal)

// withID adapts h to a route with a UUID parameter, checking in CircleCI's order: the
// token (401), then the UUID (400); h runs with s.mu read-locked.
func withID(param string, h idHandler) func(*Server, http.ResponseWriter, *http.Request, routeArgs) {
	return func(s *Server, w http.ResponseWriter, r *http.Request, a routeArgs) {
		pr, ok := s.authorize(w, r)
		if !ok || !checkUUID(w, param, a.id) {
			return
		}
		s.mu.RLock()
		defer s.mu.RUnlock()
		h(s, w, r, a, pr)
	}
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request, _ routeArgs) {
	pr, ok := s.authorize(w, r)
	if !ok {
		return
	}
	s.mu.RLock()
	out := toWireUser(s.w.userByID[pr.meID])
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleCollaborations(w http.ResponseWriter, r *http.Request, _ routeArgs) {
	pr, ok := s.authorize(w, r)
	if !ok {
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
	pr, ok := s.authorize(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	orgSlug := canonicalOrgSlug(q.Get("org-slug"))
	mine, _ := strconv.ParseBool(q.Get("mine"))
	s.mu.RLock()
	defer s.mu.RUnlock()
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
	sc := scope("org-pipelines", pr.name, orgSlug, strconv.FormatBool(mine))
	servePage(s, w, r, sc, pipelinePages(s.w.all, keep), toWirePipeline)
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

// projectHandler answers a project route for pr, the principal of the
// request's token, and the project s.w.projects[i], with s.mu read-locked.
type projectHandler func(s *Server, w http.ResponseWriter, r *http.Request, a routeArgs, pr principal, i int)

// withProject adapts h to a project route: a bad token or an unseen project answers
// 404 "Project not found", as CircleCI does; h runs with s.mu read-locked.
func withProject(h projectHandler) func(*Server, http.ResponseWriter, *http.Request, routeArgs) {
	return func(s *Server, w http.ResponseWriter, r *http.Request, a routeArgs) {
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
		h(s, w, r, a, pr, i)
	}
}

func (s *Server) handleProject(w http.ResponseWriter, _ *http.Request, _ routeArgs, _ principal, i int) {
	writeJSON(w, http.StatusOK, toWireProject(s.w.projects[i]))
}

func (s *Server) handleProjectPipelines(w http.ResponseWriter, r *http.Request, _ routeArgs, pr principal, i int) {
	branch := r.URL.Query().Get("branch")
	keep := func(p *Pipeline) bool { return branch == "" || p.Branch() == branch }
	sc := scope("project-pipelines", pr.name, s.w.projects[i].Slug, branch)
	servePage(s, w, r, sc, pipelinePages(s.w.byProject[i], keep), toWirePipeline)
}

func (s *Server) handleProjectPipelineNumber(w http.ResponseWriter, _ *http.Request, a routeArgs, _ principal, i int) {
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

func (s *Server) handlePipeline(w http.ResponseWriter, _ *http.Request, a routeArgs, pr principal) {
	p, ok := s.visiblePipeline(pr, a.id)
	if !ok {
		writeError(w, http.StatusNotFound, msgPipelineNotFound)
		return
	}
	writeJSON(w, http.StatusOK, toWirePipeline(p))
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

func (s *Server) handleWorkflowJobs(w http.ResponseWriter, r *http.Request, a routeArgs, pr principal) {
	if wf, ok := s.lookupWorkflow(w, pr, a.id); ok {
		sc := scope("workflow-jobs", pr.name, wf.ID)
		servePage(s, w, r, sc, idPages(s.w.jobsByWf[wf.ID], func(j *Job) string { return j.ID }), toWireJob)
	}
}

func (s *Server) handleUser(w http.ResponseWriter, _ *http.Request, a routeArgs, _ principal) {
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
