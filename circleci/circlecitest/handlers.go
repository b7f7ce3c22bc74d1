package circlecitest

import (
	"encoding/json"
	"net/http"
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
