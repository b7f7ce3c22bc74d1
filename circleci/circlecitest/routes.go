package circlecitest

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// apiRoute is one CircleCI operation the fake answers, declared in its kind's file.
type apiRoute struct {
	// key is the Stats key: "GET " and the path template, parameters in braces as in
	// the spec; matchRoute matches requests against the template.
	key string
	// short is the route's name in Corruption.Route (CorruptionRoutes).
	short string
	// list marks a route answering {"items":[…],"next_page_token":…}.
	list bool
	// methods are the methods it answers besides GET and HEAD.
	methods []string
	handle  func(s *Server, w http.ResponseWriter, r *http.Request, a routeArgs)
}

// apiRoutes are the operations the fake answers, kind by kind.
var apiRoutes = slices.Concat(userRoutes, projectRoutes, pipelineRoutes, workflowRoutes, jobRoutes,
	jobDetailsRoutes, testRoutes, insightsRoutes, webhookRoutes)

// route is the operation matched for a request.
type route struct {
	// template is the path template of the Stats key; "(unmatched)" for unknown paths.
	template string
	methods  []string
	handle   func(s *Server, w http.ResponseWriter, r *http.Request, a routeArgs)
}

// allows reports whether the route answers method.
func (rt route) allows(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || slices.Contains(rt.methods, method)
}

// routeArgs are the path parameters of a request.
type routeArgs struct {
	slug   string // project-slug, unescaped ("gh/acme/api")
	id     string // pipeline-id, workflow id or user id
	number string // pipeline-number (any parameter named *-number)
	name   string // workflow-name, unescaped
}

var unmatched = route{template: "(unmatched)"}

// pathOf returns the path template of a Stats route key.
func pathOf(key string) string { _, p, _ := strings.Cut(key, " "); return p }

// matchRoute finds the route of a request from its escaped path, so that a project
// slug may come with its slashes raw or escaped as %2F.
func matchRoute(r *http.Request) (route, routeArgs) {
	esc := r.URL.EscapedPath()
	segs, ok := pathSegments(esc)
	for _, ar := range apiRoutes {
		tmpl := pathOf(ar.key)
		if rest, v2 := strings.CutPrefix(tmpl, "/api/v2/"); !v2 {
			if esc == tmpl {
				return route{tmpl, ar.methods, ar.handle}, routeArgs{}
			}
		} else if a, match := matchSegments(strings.Split(rest, "/"), segs); ok && match {
			return route{tmpl, ar.methods, ar.handle}, a
		}
	}
	return unmatched, routeArgs{}
}

// pathSegments splits an escaped /api/v2/ path into unescaped segments (false on an
// empty or badly escaped one); after "project" a slug is three segments however escaped.
func pathSegments(esc string) ([]string, bool) {
	rest, ok := strings.CutPrefix(esc, "/api/v2/")
	if !ok {
		return nil, false
	}
	raw := strings.Split(rest, "/")
	if raw[0] == "insights" {
		return insightsSegments(raw[1:])
	}
	segs := make([]string, len(raw))
	for i, s := range raw {
		u, err := url.PathUnescape(s)
		if err != nil || u == "" {
			return nil, false
		}
		segs[i] = u
	}
	if segs[0] == "project" {
		return append([]string{"project"}, strings.Split(strings.Join(segs[1:], "/"), "/")...), true
	}
	return segs, true
}

// insightsSegments does it after /insights/: a three-part slug, a raw "workflows", then
// the rest one by one, so that a '/' in a workflow name must come escaped.
func insightsSegments(raw []string) ([]string, bool) {
	segs := []string{"insights"}
	k := 0
	for ; k < len(raw) && len(segs) < 4; k++ {
		u, err := url.PathUnescape(raw[k])
		if err != nil || u == "" {
			return nil, false
		}
		segs = append(segs, strings.Split(u, "/")...)
	}
	if len(segs) != 4 || k >= len(raw) || raw[k] != "workflows" {
		return nil, false
	}
	segs = append(segs, "workflows")
	for _, s := range raw[k+1:] {
		u, err := url.PathUnescape(s)
		if err != nil || u == "" {
			return nil, false
		}
		segs = append(segs, u)
	}
	return segs, true
}

// matchSegments matches a template's segments (after /api/v2/) against a request's:
// {project-slug} takes three, any other parameter one.
func matchSegments(tmpl, segs []string) (routeArgs, bool) {
	var a routeArgs
	i := 0
	for _, t := range tmpl {
		switch {
		case t == "{project-slug}":
			if i+3 > len(segs) {
				return routeArgs{}, false
			}
			a.slug = strings.Join(segs[i:i+3], "/")
			i += 3
			continue
		case i >= len(segs):
			return routeArgs{}, false
		case t == "{workflow-name}":
			a.name = segs[i]
		case strings.HasPrefix(t, "{") && strings.HasSuffix(t, "-number}"):
			a.number = segs[i]
		case strings.HasPrefix(t, "{"):
			a.id = segs[i]
		case t != segs[i]:
			return routeArgs{}, false
		}
		i++
	}
	return a, i == len(segs)
}
