package activities

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/log"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/circleci/webhooks"
	"github.com/circleci-sync/circleci-sync/store"
)

// Verify step names (VerifyStep.Name).
const (
	stepOrgPipelines     = "org_pipelines"
	stepProjectPipelines = "project_pipelines"
	stepMe               = "me"
	stepCollaborations   = "collaborations"
	stepFollowedProjects = "followed_projects"
)

// verifyMaxProjects is how many projects the project check tries while they answer 404.
const verifyMaxProjects = 3

// VerifyConnection runs CircleCI's diagnostic sequence (org pipelines, project
// pipelines, /me, collaborations, followed projects) and fails with a
// non-retryable ErrInvalidCredentials, ErrInvalidPermissions or ErrNoResources
// saying what to do. A project answering 404 fails only its step. A connection
// verified within ReverifyAfter is not checked again (Skipped).
func (a *Activities) VerifyConnection(ctx context.Context, in VerifyInput) (VerifyReport, error) {
	conn := in.Connection
	org := strings.TrimSpace(conn.OrgSlug)
	if org == "" {
		return VerifyReport{}, nonRetryable("the connection has no org_slug", ErrInvalidInput)
	}
	r := a.startRun(ctx, conn, nil, nil)
	defer r.stop()
	if err := r.connect(ctx); err != nil {
		return VerifyReport{}, err
	}
	api, log := r.api, r.log
	var err error
	var st store.ConnectionState
	if a.Store != nil {
		if st, err = a.Store.ConnectionState(ctx, conn.ConnectionID); err != nil {
			return VerifyReport{}, applicationError(ctx, err, "read the state of connection "+conn.ConnectionID)
		}
		if verifiedRecently(st, conn, a.reverifyAfter()) {
			log.Info("connection verified recently: not checked again", "verified_at", st.VerifiedAt)
			return VerifyReport{Skipped: true, VerifiedAt: st.VerifiedAt}, nil
		}
	}
	rep, err := verifySequence(ctx, api, conn, in.Projects)
	if err != nil {
		return rep, err
	}
	rep.VerifiedAt = time.Now().UTC()
	if a.Store != nil {
		st.ConnectionID, st.OrgSlug, st.BaseURL = conn.ConnectionID, conn.OrgSlug, baseURLOrDefault(conn.BaseURL)
		st.VerifiedAt = rep.VerifiedAt
		if err := a.Store.SaveConnectionState(ctx, st); err != nil {
			return rep, applicationError(ctx, err, "save the state of connection "+conn.ConnectionID)
		}
	}
	return rep, nil
}

// DefaultReverifyAfter is the default Activities.ReverifyAfter.
const DefaultReverifyAfter = 24 * time.Hour

// reverifyAfter is ReverifyAfter or its default.
func (a *Activities) reverifyAfter() time.Duration {
	if a.ReverifyAfter != 0 {
		return a.ReverifyAfter
	}
	return DefaultReverifyAfter
}

// verifiedRecently tells whether st records a verification of conn within d.
func verifiedRecently(st store.ConnectionState, conn Connection, d time.Duration) bool {
	return d > 0 && !st.VerifiedAt.IsZero() && time.Since(st.VerifiedAt) < d &&
		strings.EqualFold(strings.TrimSpace(st.OrgSlug), strings.TrimSpace(conn.OrgSlug)) &&
		strings.EqualFold(strings.TrimRight(st.BaseURL, "/"), strings.TrimRight(baseURLOrDefault(conn.BaseURL), "/"))
}

// verifySequence runs CircleCI's diagnostic sequence (see VerifyConnection).
// Its four independent branches (org then project pipelines, /me,
// collaborations, followed projects) run at once, so it takes two round trips
// (three behind a new client's probe) rather than five. Steps are reported in
// the sequence's order.
func verifySequence(ctx context.Context, api *client, conn Connection, projects []string) (VerifyReport, error) {
	org := strings.TrimSpace(conn.OrgSlug)
	var orgPage circleci.Page[circleci.Pipeline]
	var project string
	var followed []circleci.FollowedProject
	v, err := verifyBranches(api,
		func(v *verifier) error {
			var err error
			orgPage, err = api.orgPipelinesPage(ctx, org, "")
			if err := v.check(ctx, stepOrgPipelines, "list the pipelines of organization "+org, err,
				fmt.Sprintf("%d pipelines on the first page", len(orgPage.Items))); err != nil {
				return err
			}
			candidates, configured := projectCandidates(projects, orgPage.Items)
			project, err = v.checkProjects(ctx, logger(ctx, conn), candidates, configured)
			return err
		},
		func(v *verifier) error { return v.checkMe(ctx) },
		func(v *verifier) error { return v.checkCollaborations(ctx) },
		func(v *verifier) error {
			var err error
			followed, err = v.checkFollowed(ctx)
			return err
		})
	if err != nil {
		return v.rep, err
	}
	log := logger(ctx, conn)
	if err := decideVerify(conn, org, project, projects, orgPage.Items, followed, v.failures); err != nil {
		log.Warn("connection check failed", "steps", len(v.rep.Steps), "error", err)
		return v.rep, err
	}
	log.Info("connection checked", "user", v.rep.UserLogin, "followed_projects", v.rep.FollowedProjects,
		"requests", v.rep.Requests)
	return v.rep, nil
}

// verifyBranches runs the branches at once, each with its own verifier, and
// merges their steps and failures in the branches' order; the error is the
// first branch's that failed.
func verifyBranches(api *client, branches ...func(v *verifier) error) (*verifier, error) {
	subs := make([]*verifier, len(branches))
	errs := make([]error, len(branches))
	var wg sync.WaitGroup
	for i, branch := range branches {
		subs[i] = &verifier{api: api, failures: map[string]*circleci.Error{}}
		wg.Go(func() { errs[i] = branch(subs[i]) })
	}
	wg.Wait()
	v := &verifier{api: api, failures: map[string]*circleci.Error{}}
	for _, sub := range subs {
		v.rep.Steps = append(v.rep.Steps, sub.rep.Steps...)
		maps.Copy(v.failures, sub.failures)
		v.rep.UserLogin = cmp.Or(v.rep.UserLogin, sub.rep.UserLogin)
		v.rep.Organizations = append(v.rep.Organizations, sub.rep.Organizations...)
		v.rep.FollowedProjects += sub.rep.FollowedProjects
	}
	v.rep.Requests = api.Requests()
	for _, err := range errs {
		if err != nil {
			return v, err
		}
	}
	return v, nil
}

// verifier records the diagnostic sequence's steps and failures.
type verifier struct {
	api      *client
	rep      VerifyReport
	failures map[string]*circleci.Error
}

// check records a step from err; a 400, 401, 403 or 404 goes to the verdict,
// other failures are returned (retrying may fix them).
func (v *verifier) check(ctx context.Context, name, what string, err error, okDetail string) error {
	st := VerifyStep{Name: name, OK: err == nil, HTTPStatus: http.StatusOK, Detail: okDetail}
	if err != nil {
		ce, isCE := circleci.AsError(err)
		if !isCE {
			v.rep.Requests = v.api.Requests()
			return applicationError(ctx, err, what)
		}
		st.HTTPStatus = ce.StatusCode
		st.Detail = ce.Error()
		switch ce.Class {
		case circleci.ClassUnauthorized, circleci.ClassForbidden, circleci.ClassNotFound, circleci.ClassBadRequest:
			v.failures[name] = ce
		default:
			v.rep.Steps = append(v.rep.Steps, st)
			v.rep.Requests = v.api.Requests()
			return applicationError(ctx, err, what)
		}
	}
	v.rep.Steps = append(v.rep.Steps, st)
	return nil
}

// projectCandidates are the projects the project check tries in turn: the
// configured ones, else those of the newest org pipelines.
func projectCandidates(projects []string, orgPipelines []circleci.Pipeline) (candidates []string, configured bool) {
	for _, p := range projects {
		if p = strings.TrimSpace(p); p != "" && len(candidates) < verifyMaxProjects {
			candidates = append(candidates, p)
		}
	}
	if len(candidates) > 0 {
		return candidates, true
	}
	for _, p := range orgPipelines {
		if p.ProjectSlug != "" && !slices.Contains(candidates, p.ProjectSlug) && len(candidates) < verifyMaxProjects {
			candidates = append(candidates, p.ProjectSlug)
		}
	}
	return candidates, false
}

// checkProjects tries the candidates until one does not answer 404.
func (v *verifier) checkProjects(ctx context.Context, log log.Logger, candidates []string, configured bool) (string, error) {
	if len(candidates) == 0 {
		v.rep.Steps = append(v.rep.Steps, VerifyStep{Name: stepProjectPipelines, OK: true,
			Detail: "skipped: no project configured and no org pipeline to take one from"})
	}
	project := ""
	for _, p := range candidates {
		project = p
		page, err := v.api.projectPipelinesPage(ctx, p, "")
		if ce, ok := circleci.AsError(err); ok && ce.Class == circleci.ClassNotFound {
			detail := fmt.Sprintf("configured project %s not found or not visible to the token (%s): "+
				"its own sync will fail with %s, the other projects are synced", p, ce.Error(), ErrProjectNotFound)
			if !configured {
				detail = fmt.Sprintf("project %s, of a recent org pipeline, not found or not visible to the token (%s): "+
					"it may have been deleted or renamed; its own sync will fail with %s, the other projects are synced",
					p, ce.Error(), ErrProjectNotFound)
			}
			v.rep.Steps = append(v.rep.Steps, VerifyStep{Name: stepProjectPipelines, HTTPStatus: ce.StatusCode, Detail: detail})
			log.Warn("project not found", "project", p, "configured", configured, "error", err)
			continue
		}
		return project, v.check(ctx, stepProjectPipelines, "list the pipelines of project "+p, err,
			fmt.Sprintf("project %s: %d pipelines on the first page", p, len(page.Items)))
	}
	return project, nil
}

// checkMe reads the token's user.
func (v *verifier) checkMe(ctx context.Context) error {
	me, err := v.api.me(ctx)
	if err := v.check(ctx, stepMe, "read the token's user (GET /me)", err, "user "+me.Login); err != nil {
		return err
	}
	v.rep.UserLogin = me.Login
	return nil
}

// checkCollaborations lists the token's organisations.
func (v *verifier) checkCollaborations(ctx context.Context) error {
	collabs, err := v.api.collaborations(ctx)
	if err := v.check(ctx, stepCollaborations, "list the token's organizations", err,
		fmt.Sprintf("%d organizations", len(collabs))); err != nil {
		return err
	}
	for _, c := range collabs {
		v.rep.Organizations = append(v.rep.Organizations, c.Slug)
	}
	return nil
}

// checkFollowed lists the token's followed projects.
func (v *verifier) checkFollowed(ctx context.Context) ([]circleci.FollowedProject, error) {
	followed, err := v.api.followedProjects(ctx)
	if err := v.check(ctx, stepFollowedProjects, "list the followed projects", err,
		fmt.Sprintf("%d followed projects", len(followed))); err != nil {
		return nil, err
	}
	v.rep.FollowedProjects = len(followed)
	return followed, nil
}

// decideVerify is the sequence's verdict: nil when the connection can sync.
func decideVerify(conn Connection, org, project string, configured []string, orgPipelines []circleci.Pipeline,
	followed []circleci.FollowedProject, failures map[string]*circleci.Error,
) error {
	env := conn.TokenEnv
	for _, name := range []string{stepMe, stepCollaborations, stepFollowedProjects, stepOrgPipelines, stepProjectPipelines} {
		if ce := failures[name]; ce != nil && ce.Class == circleci.ClassUnauthorized {
			return nonRetryable(fmt.Sprintf("CircleCI rejected the token in $%s (%s answered HTTP %d: %s): use a personal API token "+
				"(project tokens cannot list pipelines), check that it has not expired or been revoked, and that it belongs to %s",
				env, name, ce.StatusCode, ce.Message, baseURLOrDefault(conn.BaseURL)), ErrInvalidCredentials)
		}
	}
	if me := failures[stepMe]; me != nil {
		// /me answers every valid personal token: a 403 or 404 there means the
		// token is not a user's.
		return nonRetryable(fmt.Sprintf("CircleCI refused GET /me with the token in $%s (HTTP %d: %s): use a personal API token "+
			"(project tokens do not work on API v2)", env, me.StatusCode, me.Message), ErrInvalidCredentials)
	}
	if ce := failures[stepOrgPipelines]; ce != nil {
		if ce.Class == circleci.ClassForbidden {
			return nonRetryable(fmt.Sprintf("the token's user may not list the pipelines of organization %q (HTTP 403: %s): "+
				"check that the user belongs to the organization and has access to its projects", org, ce.Message),
				ErrInvalidPermissions)
		}
		return nonRetryable(fmt.Sprintf("organization %q is unknown or not visible to the token's user (HTTP %d: %s): "+
			"check the org slug (gh/<org>, bb/<workspace> or circleci/<org-id>) and that the user belongs to the organization",
			org, ce.StatusCode, ce.Message), ErrInvalidPermissions)
	}
	for _, name := range []string{stepCollaborations, stepFollowedProjects} {
		if ce := failures[name]; ce != nil {
			return nonRetryable(fmt.Sprintf("CircleCI refused %s with the token in $%s (HTTP %d: %s): check the token's permissions",
				name, env, ce.StatusCode, ce.Message), ErrInvalidPermissions)
		}
	}
	if ce := failures[stepProjectPipelines]; ce != nil {
		if ce.Class == circleci.ClassForbidden {
			return nonRetryable(fmt.Sprintf("the token's user may not list the pipelines of project %s (HTTP 403: %s)",
				project, ce.Message), ErrInvalidPermissions)
		}
		return nonRetryable(fmt.Sprintf("project %s not found or not visible to the token (HTTP %d: %s): "+
			"check the slug and that the token's user follows it", project, ce.StatusCode, ce.Message), ErrProjectNotFound)
	}
	if len(configured) == 0 && len(orgPipelines) == 0 && !anyFollowedOf(org, followed) {
		return nonRetryable(fmt.Sprintf("the token sees no project of org %s: follow the projects in CircleCI or list them in `projects`",
			org), ErrNoResources)
	}
	return nil
}

// anyFollowedOf reports whether one of followed belongs to org.
func anyFollowedOf(org string, followed []circleci.FollowedProject) bool {
	for _, f := range followed {
		if webhooks.InOrg(org, f.Slug()) {
			return true
		}
	}
	return false
}
