package activities

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// DefaultDiscoveryMaxPages is the default Activities.DiscoveryMaxPages: 50 pages
// of 20, the organisation's 1,000 most recent pipelines.
//
// The org pipeline list spans the organisation's whole history (a big one has
// 100,000 pipelines and more); reading it all on every sync would take hours of
// requests. Its newest pages find the projects with recent activity, which are
// those with something to sync; the followed projects and the projects recorded
// by earlier discoveries cover the others.
const DefaultDiscoveryMaxPages = 50

// discoveryMaxPages is DiscoveryMaxPages or its default.
func (a *Activities) discoveryMaxPages() int {
	if a.DiscoveryMaxPages > 0 {
		return a.DiscoveryMaxPages
	}
	return DefaultDiscoveryMaxPages
}

// DiscoverProjects returns the projects to sync: in.Projects when given, else the
// union of the organisation's followed projects, the distinct slugs of its most
// recent org pipelines, and the projects of the organisation recorded in the
// connection's sync state by earlier discoveries. It records them in the
// connection's sync state.
//
// Followed projects (v1.1) belong to the organisation when their slug starts with
// the org slug (compared case-insensitively, gh/github and bb/bitbucket alike);
// so must recorded projects (a project configured earlier, or of another org, is
// dropped). The org pipeline list is read newest first, at most
// DiscoveryMaxPages pages (see DefaultDiscoveryMaxPages): a project once
// discovered stays in the state, so it is still synced when its pipelines are
// no longer among the newest. The activity heartbeats from its start and after
// each page. Finding no project is a non-retryable ErrNoResources.
func (a *Activities) DiscoverProjects(ctx context.Context, in DiscoverInput) (DiscoverResult, error) {
	if err := a.checkStore(); err != nil {
		return DiscoverResult{}, err
	}
	conn := in.Connection
	org := strings.TrimSpace(conn.OrgSlug)
	log := logger(ctx, conn)
	// Heartbeats start before any request or query (a request may wait long for
	// the limiter); the details are the org pipeline pages read so far.
	hb, stopHeartbeats := newHeartbeater(ctx, 0)
	defer stopHeartbeats()

	var res DiscoverResult
	var slugs []string
	configured := len(in.Projects) > 0
	if configured {
		for _, p := range in.Projects {
			if p = strings.TrimSpace(p); p != "" {
				slugs = append(slugs, p)
			}
		}
		if len(slugs) == 0 {
			return res, nonRetryable("the configured projects are all empty slugs", ErrInvalidInput)
		}
	}
	if !configured && org == "" {
		return res, nonRetryable("the connection has no org_slug and no projects are configured", ErrInvalidInput)
	}

	st, err := a.Store.ConnectionState(ctx, conn.ConnectionID)
	if err != nil {
		return res, applicationError(ctx, err, "read the state of connection "+conn.ConnectionID)
	}
	if !configured {
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
		maxPages := a.discoveryMaxPages()
		for page, err := range circleci.Pages(ctx, func(ctx context.Context, tok string) (circleci.Page[circleci.Pipeline], error) {
			return api.orgPipelinesPage(ctx, org, tok)
		}) {
			if err != nil {
				res.Requests = api.Requests()
				return res, applicationError(ctx, err, "list the pipelines of organization "+org)
			}
			res.OrgPipelinePages++
			hb.record(res.OrgPipelinePages)
			for _, p := range page.Items {
				if p.ProjectSlug != "" {
					slugs = append(slugs, p.ProjectSlug)
				}
			}
			if page.NextPageToken != "" && res.OrgPipelinePages >= maxPages {
				res.OrgPipelinesTruncated = true
				break
			}
		}
		res.Requests = api.Requests()
		for _, s := range st.Projects {
			if inOrg(org, s) {
				slugs = append(slugs, s)
			}
		}
		if len(slugs) == 0 {
			return res, nonRetryable(fmt.Sprintf("the token sees no project of org %s: follow the projects in CircleCI or list them in `projects`",
				org), ErrNoResources)
		}
	}
	slices.Sort(slugs)
	res.Projects = slices.Compact(slugs)

	st.ConnectionID = conn.ConnectionID
	st.OrgSlug = conn.OrgSlug
	st.BaseURL = baseURLOrDefault(conn.BaseURL)
	st.Projects = res.Projects
	if err := a.Store.SaveConnectionState(ctx, st); err != nil {
		return res, applicationError(ctx, err, "save the state of connection "+conn.ConnectionID)
	}
	log.Info("projects discovered", "projects", len(res.Projects), "configured", configured,
		"org_pipeline_pages", res.OrgPipelinePages, "org_pipelines_truncated", res.OrgPipelinesTruncated,
		"requests", res.Requests)
	return res, nil
}
