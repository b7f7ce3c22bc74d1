package circlecitest

import (
	"net/http"
	"strconv"
	"strings"
)

// Stats keys of the pipeline routes.
const (
	// RoutePipelines is the org pipeline list, GET /api/v2/pipeline.
	RoutePipelines = "GET /api/v2/pipeline"
	// RoutePipeline is GET /api/v2/pipeline/{pipeline-id}.
	RoutePipeline = "GET /api/v2/pipeline/{pipeline-id}"
	// RouteProjectPipelines is the pipeline list of a project.
	RouteProjectPipelines = "GET /api/v2/project/{project-slug}/pipeline"
	// RouteProjectPipelineNumber is a project's pipeline by number.
	RouteProjectPipelineNumber = "GET /api/v2/project/{project-slug}/pipeline/{pipeline-number}"
)

// pipelineRoutes are the pipeline operations the fake answers.
var pipelineRoutes = []apiRoute{
	{key: RoutePipelines, short: "org_pipelines", list: true, handle: (*Server).handleOrgPipelines},
	{key: RoutePipeline, short: "pipeline", handle: withID("pipeline-id", (*Server).handlePipeline)},
	{key: RouteProjectPipelines, short: "project_pipelines", list: true,
		handle: withProject((*Server).handleProjectPipelines)},
	{key: RouteProjectPipelineNumber, short: "project_pipeline_number",
		handle: withProject((*Server).handleProjectPipelineNumber)},
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

func (s *Server) handlePipeline(w http.ResponseWriter, _ *http.Request, a routeArgs, pr principal) {
	p, ok := s.visiblePipeline(pr, a.id)
	if !ok {
		writeError(w, http.StatusNotFound, msgPipelineNotFound)
		return
	}
	writeJSON(w, http.StatusOK, toWirePipeline(p))
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

type wirePipeline struct {
	ID                string                 `json:"id"`
	Errors            []wirePipelineError    `json:"errors"`
	ProjectSlug       string                 `json:"project_slug"`
	UpdatedAt         wireTime               `json:"updated_at"`
	Number            int64                  `json:"number"`
	TriggerParameters *wireTriggerParameters `json:"trigger_parameters,omitempty"`
	State             string                 `json:"state"`
	CreatedAt         wireTime               `json:"created_at"`
	Trigger           wireTrigger            `json:"trigger"`
	VCS               *wireVCS               `json:"vcs,omitempty"`
}

type wirePipelineError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

type wireTrigger struct {
	Type       string    `json:"type"`
	ReceivedAt wireTime  `json:"received_at"`
	Actor      wireActor `json:"actor"`
}

type wireActor struct {
	Login     string  `json:"login"`
	AvatarURL *string `json:"avatar_url"`
}

type wireVCS struct {
	ProviderName        string      `json:"provider_name"`
	TargetRepositoryURL string      `json:"target_repository_url"`
	Branch              string      `json:"branch,omitempty"`
	ReviewID            string      `json:"review_id,omitempty"`
	ReviewURL           string      `json:"review_url,omitempty"`
	Revision            string      `json:"revision"`
	Tag                 string      `json:"tag,omitempty"`
	Commit              *wireCommit `json:"commit,omitempty"`
	OriginRepositoryURL string      `json:"origin_repository_url"`
}

type wireCommit struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

type wireTriggerParameters struct {
	CircleCI *wireCircleCIParameters `json:"circleci,omitempty"`
	Git      *wireGitParameters      `json:"git,omitempty"`
}

type wireCircleCIParameters struct {
	EventType   string `json:"event_type"`
	TriggerType string `json:"trigger_type"`
	EventTime   string `json:"event_time"`
}

type wireGitParameters struct {
	Tag           string `json:"tag,omitempty"`
	CheckoutSHA   string `json:"checkout_sha"`
	Ref           string `json:"ref"`
	Branch        string `json:"branch,omitempty"`
	RepoName      string `json:"repo_name"`
	RepoURL       string `json:"repo_url"`
	CommitSHA     string `json:"commit_sha"`
	CommitTitle   string `json:"commit_title"`
	CommitMessage string `json:"commit_message"`
	DefaultBranch string `json:"default_branch"`
}

func toWirePipeline(p *Pipeline) wirePipeline {
	out := wirePipeline{ID: p.ID, Errors: []wirePipelineError{}, ProjectSlug: p.ProjectSlug,
		UpdatedAt: wireTime(p.UpdatedAt), Number: p.Number, State: p.State, CreatedAt: wireTime(p.CreatedAt),
		Trigger: wireTrigger{Type: p.Trigger.Type, ReceivedAt: wireTime(p.Trigger.ReceivedAt),
			Actor: wireActor{Login: p.Trigger.Actor.Login, AvatarURL: p.Trigger.Actor.AvatarURL}}}
	for _, e := range p.Errors {
		out.Errors = append(out.Errors, wirePipelineError(e))
	}
	if tp := p.TriggerParameters; tp != nil {
		out.TriggerParameters = &wireTriggerParameters{}
		if c := tp.CircleCI; c != nil {
			out.TriggerParameters.CircleCI = &wireCircleCIParameters{EventType: c.EventType, TriggerType: c.TriggerType, EventTime: c.EventTime}
		}
		if g := tp.Git; g != nil {
			out.TriggerParameters.Git = &wireGitParameters{Tag: g.Tag, CheckoutSHA: g.CheckoutSHA, Ref: g.Ref,
				Branch: g.Branch, RepoName: g.RepoName, RepoURL: g.RepoURL, CommitSHA: g.CommitSHA,
				CommitTitle: g.CommitTitle, CommitMessage: g.CommitMessage, DefaultBranch: g.DefaultBranch}
		}
	}
	if v := p.VCS; v != nil {
		out.VCS = &wireVCS{ProviderName: v.ProviderName, TargetRepositoryURL: v.TargetRepositoryURL, Branch: v.Branch,
			ReviewID: v.ReviewID, ReviewURL: v.ReviewURL, Revision: v.Revision, Tag: v.Tag,
			OriginRepositoryURL: v.OriginRepositoryURL}
		if v.Commit != nil {
			out.VCS.Commit = &wireCommit{Subject: v.Commit.Subject, Body: v.Commit.Body}
		}
	}
	return out
}
