package circlecitest

import (
	"net/http"
	"strings"
)

// principal is who a valid token belongs to and what it may see.
type principal struct {
	name    string // "full" or "limited"; part of page-token scopes
	meID    string // the token's user
	visible int    // the token sees projects [0, visible)
}

// Error messages, as CircleCI words them.
const (
	msgInvalidToken     = "Invalid token provided."
	msgLogIn            = "You must log in first."
	msgQueryAuth        = "Support for query parameter authentication has been deprecated to improve security. Please use a supported authentication method such as header-based, or basic authentication."
	msgProjectNotFound  = "Project not found"
	msgPipelineNotFound = "Pipeline not found"
	msgWorkflowNotFound = "Workflow not found"
	msgUserNotFound     = "User does not exist."
	msgNotFound         = "Not Found"
	msgInternal         = "Internal server error."
	msgBadPageToken     = "Invalid page-token."
)

// tokenOf returns the token of a request: Circle-Token, "Authorization: Bearer" or the
// basic-auth user (the deprecated circle-token query parameter is refused).
func tokenOf(r *http.Request) string {
	if t := r.Header.Get("Circle-Token"); t != "" {
		return t
	}
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	if u, _, ok := r.BasicAuth(); ok {
		return u
	}
	return ""
}

// authenticate returns the principal of the request's token, or the 401 message.
func (s *Server) authenticate(r *http.Request) (principal, string, bool) {
	switch t := tokenOf(r); {
	case t == s.opts.Token:
		return principal{name: "full", meID: s.w.meFull, visible: len(s.w.projects)}, "", true
	case s.opts.LimitedToken != "" && t == s.opts.LimitedToken:
		return principal{name: "limited", meID: s.w.meLimited, visible: s.opts.LimitedProjects}, "", true
	case t != "":
		return principal{}, msgInvalidToken, false
	case r.URL.Query().Get("circle-token") != "":
		return principal{}, msgQueryAuth, false
	default:
		return principal{}, msgLogIn, false
	}
}

// principalFor returns a token's principal, for Expected (ok false: not accepted).
func (s *Server) principalFor(token string) (principal, bool) {
	switch {
	case token == s.opts.Token:
		return principal{name: "full", meID: s.w.meFull, visible: len(s.w.projects)}, true
	case s.opts.LimitedToken != "" && token == s.opts.LimitedToken:
		return principal{name: "limited", meID: s.w.meLimited, visible: s.opts.LimitedProjects}, true
	}
	return principal{}, false
}
