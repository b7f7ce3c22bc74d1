package circlecitest

import (
	"net/http"
	"strings"
)

// Stats keys of the user routes.
const (
	// RouteMe is GET /api/v2/me.
	RouteMe = "GET /api/v2/me"
	// RouteCollaborations is GET /api/v2/me/collaborations.
	RouteCollaborations = "GET /api/v2/me/collaborations"
	// RouteUser is GET /api/v2/user/{id}.
	RouteUser = "GET /api/v2/user/{id}"
)

// userRoutes are the user operations the fake answers.
var userRoutes = []apiRoute{
	{key: RouteMe, short: "me", handle: (*Server).handleMe},
	{key: RouteCollaborations, short: "collaborations", handle: (*Server).handleCollaborations},
	{key: RouteUser, short: "user", handle: withID("id", (*Server).handleUser)},
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

func (s *Server) handleUser(w http.ResponseWriter, _ *http.Request, a routeArgs, _ principal) {
	u, ok := s.w.userByID[strings.ToLower(a.id)]
	if !ok || s.sets.missing[u.ID] {
		writeError(w, http.StatusNotFound, msgUserNotFound)
		return
	}
	writeJSON(w, http.StatusOK, toWireUser(u))
}

type wireUser struct {
	AvatarURL *string `json:"avatar_url"`
	ID        string  `json:"id"`
	Login     string  `json:"login"`
	Name      string  `json:"name"`
}

// wireCollaboration uses "vcs_type", as CircleCI cloud does, not the spec's
// "vcs-type".
type wireCollaboration struct {
	ID        *string `json:"id"`
	VCSType   string  `json:"vcs_type"`
	Name      string  `json:"name"`
	AvatarURL string  `json:"avatar_url"`
	Slug      string  `json:"slug"`
}

func toWireUser(u *User) wireUser {
	return wireUser{AvatarURL: u.AvatarURL, ID: u.ID, Login: u.Login, Name: u.Name}
}

func toWireCollaboration(c Collaboration) wireCollaboration {
	//lint:ignore S1016 the wire types stay apart from the dataset's, field by field, even where they agree today.
	return wireCollaboration{ID: c.ID, VCSType: c.VCSType, Name: c.Name, AvatarURL: c.AvatarURL, Slug: c.Slug}
}
