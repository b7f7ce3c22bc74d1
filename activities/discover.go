package activities

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// DiscoverProjects returns the projects to sync: in.Projects when given, else the
// followed projects of the organisation plus the distinct slugs of its org
// pipelines. It records them in the connection's sync state.
//
// Followed projects (v1.1) belong to the organisation when their slug starts with
// the org slug (compared case-insensitively, gh/github and bb/bitbucket alike);
// the org pipeline list is read to its end (CircleCI caps it at the 250 most
// recently built projects). Finding no project is a non-retryable ErrNoResources.
func (a *Activities) DiscoverProjects(ctx context.Context, in DiscoverInput) (DiscoverResult, error) {
	if err := a.checkStore(); err != nil {
		return DiscoverResult{}, err
	}
	conn := in.Connection
	org := strings.TrimSpace(conn.OrgSlug)
	log := logger(ctx, conn)
	var res DiscoverResult
	var slugs []string
	if len(in.Projects) > 0 {
		for _, p := range in.Projects {
			if p = strings.TrimSpace(p); p != "" {
				slugs = append(slugs, p)
			}
		}
		if len(slugs) == 0 {
			return res, nonRetryable("the configured projects are all empty slugs", ErrInvalidInput)
		}
	} else {
		if org == "" {
			return res, nonRetryable("the connection has no org_slug and no projects are configured", ErrInvalidInput)
		}
		api, err := a.newAPI(ctx, conn)
		if err != nil {
			return res, err
		}
		followed, err := api.followedProjects(ctx)
		if err != nil {
			res.Requests = api.Requests()
			return res, applicationError(ctx, err, "list the followed projects")
		}
		for _, f := range followed {
			if s := f.Slug(); inOrg(org, s) {
				slugs = append(slugs, s)
			}
		}
		for page, err := range circleci.Pages(ctx, func(ctx context.Context, tok string) (circleci.Page[circleci.Pipeline], error) {
			return api.orgPipelinesPage(ctx, org, tok)
		}) {
			if err != nil {
				res.Requests = api.Requests()
				return res, applicationError(ctx, err, "list the pipelines of organization "+org)
			}
			for _, p := range page.Items {
				if p.ProjectSlug != "" {
					slugs = append(slugs, p.ProjectSlug)
				}
			}
		}
		res.Requests = api.Requests()
		if len(slugs) == 0 {
			return res, nonRetryable(fmt.Sprintf("the token sees no project of org %s: follow the projects in CircleCI or list them in `projects`",
				org), ErrNoResources)
		}
	}
	slices.Sort(slugs)
	res.Projects = slices.Compact(slugs)

	st, err := a.Store.ConnectionState(ctx, conn.ConnectionID)
	if err != nil {
		return res, applicationError(ctx, err, "read the state of connection "+conn.ConnectionID)
	}
	st.ConnectionID = conn.ConnectionID
	st.OrgSlug = conn.OrgSlug
	st.BaseURL = baseURLOrDefault(conn.BaseURL)
	st.Projects = res.Projects
	if err := a.Store.SaveConnectionState(ctx, st); err != nil {
		return res, applicationError(ctx, err, "save the state of connection "+conn.ConnectionID)
	}
	log.Info("projects discovered", "projects", len(res.Projects), "configured", len(in.Projects) > 0,
		"requests", res.Requests)
	return res, nil
}
