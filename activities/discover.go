package activities

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// DefaultDiscoveryMaxPages is the default Activities.DiscoveryMaxPages: 50 pages
// of 20, the organisation's 1,000 most recent pipelines.
//
// The org pipeline list spans the organisation's whole history (a big one has
// 100,000 pipelines and more); reading it all on every sync would take hours of
// requests. Its newest pages find the projects with recent activity, which are
// those with something to sync; the followed projects and the projects recorded
// by earlier discoveries cover the others. The bound applies once projects of
// the organisation are on record: a first discovery reads the whole list, so
// that a project whose last pipeline is older than the newest pages is recorded
// (and synced) too.
const DefaultDiscoveryMaxPages = 50

// discoveryMaxPages is DiscoveryMaxPages or its default.
func (a *Activities) discoveryMaxPages() int {
	if a.DiscoveryMaxPages > 0 {
		return a.DiscoveryMaxPages
	}
	return DefaultDiscoveryMaxPages
}

// DiscoveryOverlap is how far before the last discovery's watermark (the newest
// org pipeline it read) the next one reads the org pipeline list: pipelines are
// not always listed in exact creation order.
const DiscoveryOverlap = time.Hour

// DiscoverProjects returns the projects to sync: in.Projects when given, else the
// union of the organisation's followed projects, the distinct slugs of its org
// pipelines, and the projects of the organisation recorded in the connection's
// sync state by earlier syncs. It adds them to the connection's record.
//
// Followed projects (v1.1) belong to the organisation when their slug starts with
// the org slug (compared case-insensitively, gh/github and bb/bitbucket alike);
// so must recorded projects (a project configured earlier, or of another org, is
// not synced).
//
// The org pipeline list is read newest first. On a first discovery (no project
// of the organisation on record) it is read to the end, every page; afterwards
// back to the last discovery's watermark (the created_at of the newest org
// pipeline it read) minus DiscoveryOverlap, usually one page, and at most
// DiscoveryMaxPages pages (see DefaultDiscoveryMaxPages): a project once
// recorded stays in the record, so it is still synced when its pipelines are no
// longer among the newest. The followed projects are read again only when the
// last read is older than RefreshAfter (24 h by default): they are in the
// record since. A connection whose projects were discovered within in.FreshFor
// (and are on record) is not discovered again: the recorded projects are the
// result, and no request is made.
//
// A first org pipeline page that answers 401, 403 or 404 (a token revoked since
// the connection was verified, say) runs VerifyConnection's diagnostic
// sequence, so the failure says what to do (ErrInvalidCredentials,
// ErrInvalidPermissions).
//
// The record only grows here: it becomes the previous record (its projects of
// the organisation) plus this run's projects, configured or discovered. Only
// CompleteConnection drops a project, one the run found missing.
//
// The activity heartbeats from its start and after each org pipeline page,
// with a DiscoverProgress: a retry resumes the list after the last page read
// (from the first page if CircleCI no longer accepts the saved token). Finding
// no project is a non-retryable ErrNoResources.
func (a *Activities) DiscoverProjects(ctx context.Context, in DiscoverInput) (DiscoverResult, error) {
	if err := a.checkStore(); err != nil {
		return DiscoverResult{}, err
	}
	conn := in.Connection
	org := strings.TrimSpace(conn.OrgSlug)
	log := logger(ctx, conn)
	// Heartbeats start before any request or query (a request may wait long for
	// the limiter); the details are the org pipeline list's progress, resumed
	// from an earlier attempt's when there is one.
	var prog DiscoverProgress
	resumed := heartbeatDetails(ctx, &prog)
	hb, stopHeartbeats := newHeartbeater(ctx, prog)
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
	var recorded []string
	for _, s := range st.Projects {
		if inOrg(org, s) {
			recorded = append(recorded, s)
		}
	}
	readFollowed, readOrg := false, false
	if !configured && len(recorded) > 0 && fresh(st.DiscoveredAt, in.FreshFor) {
		res.Projects = slices.Clone(recorded)
		slices.Sort(res.Projects)
		res.Projects = slices.Compact(res.Projects)
		res.Recent = true
		log.Info("projects discovered recently: the recorded ones are synced", "projects", len(res.Projects),
			"discovered_at", st.DiscoveredAt)
		return res, nil
	}
	if !configured {
		readOrg = true
		api, err := a.newClient(ctx, conn)
		if err != nil {
			return res, err
		}
		api.hb = hb
		res.FirstDiscovery = len(recorded) == 0
		readFollowed = res.FirstDiscovery || !fresh(st.FollowedAt, a.refreshAfter())
		if readFollowed {
			followed, err := api.followedProjects(ctx)
			if err != nil {
				res.Requests = api.Requests()
				return res, a.diagnose(ctx, api, conn, err, "list the followed projects")
			}
			for _, f := range followed {
				if s := f.Slug(); inOrg(org, s) {
					slugs = append(slugs, s)
				}
			}
		}
		maxPages := a.discoveryMaxPages()
		var stopBefore time.Time
		switch {
		case res.FirstDiscovery:
			maxPages = 0
		case !st.DiscoveryWatermark.IsZero():
			stopBefore = st.DiscoveryWatermark.Add(-DiscoveryOverlap)
		}
		if resumed {
			log.Info("resuming the org pipeline list", "pages_read", prog.Pages, "projects_found", len(prog.Slugs))
		}
		res.OrgPipelinesTruncated, err = readOrgPipelines(ctx, api, org, maxPages, stopBefore, &prog, hb)
		res.Requests = api.Requests()
		res.OrgPipelinePages = prog.Pages
		if err != nil {
			return res, a.diagnose(ctx, api, conn, err, "list the pipelines of organization "+org)
		}
		slugs = append(slugs, prog.Slugs...)
		slugs = append(slugs, recorded...)
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
	st.Projects = mergeRecord(org, st.Projects, res.Projects, nil)
	now := time.Now().UTC()
	if readFollowed {
		st.FollowedAt = now
	}
	if readOrg {
		st.DiscoveredAt = now
	}
	// The watermark moves only when the list was read back to it (or to its
	// end): cut short by DiscoveryMaxPages, the pages between were not read,
	// and the next discovery must read them.
	if prog.Newest.After(st.DiscoveryWatermark) && !res.OrgPipelinesTruncated {
		st.DiscoveryWatermark = prog.Newest.UTC()
	}
	if err := a.Store.SaveConnectionState(ctx, st); err != nil {
		return res, applicationError(ctx, err, "save the state of connection "+conn.ConnectionID)
	}
	log.Info("projects discovered", "projects", len(res.Projects), "configured", configured,
		"recorded", len(st.Projects), "first_discovery", res.FirstDiscovery,
		"org_pipeline_pages", res.OrgPipelinePages, "org_pipelines_truncated", res.OrgPipelinesTruncated,
		"requests", res.Requests)
	return res, nil
}

// diagnose maps a failed discovery request to the activity's error: a 401, 403
// or 404 runs the verification sequence, whose verdict says what to do; other
// failures (and a sequence that passes) keep err's own.
func (a *Activities) diagnose(ctx context.Context, api *client, conn Connection, err error, what string) error {
	if ce, ok := circleci.AsError(err); ok && (ce.Class == circleci.ClassUnauthorized ||
		ce.Class == circleci.ClassForbidden || ce.Class == circleci.ClassNotFound) {
		if _, verr := verifySequence(ctx, api, conn, nil); verr != nil {
			return verr
		}
	}
	return applicationError(ctx, err, what)
}

// readOrgPipelines reads org's pipeline list from where prog stands (its first
// page when prog is zero), at most maxPages pages in all (0: to the end) and no
// further than the first page holding a pipeline created before stopBefore (when
// not zero), adding the distinct project slugs to prog.Slugs, the newest
// created_at to prog.Newest, and heartbeating prog after each page. It reports
// whether pages were left unread because of maxPages. A list an earlier attempt
// read to the end (or to the bound) is not read again. A saved page token that
// CircleCI no longer accepts restarts the list from its first page, once, with
// the slugs found so far kept.
func readOrgPipelines(ctx context.Context, api *client, org string, maxPages int, stopBefore time.Time,
	prog *DiscoverProgress, hb *heartbeater,
) (truncated bool, err error) {
	fetch := func(ctx context.Context, tok string) (circleci.Page[circleci.Pipeline], error) {
		return api.orgPipelinesPage(ctx, org, tok)
	}
	for restarted := false; ; restarted = true {
		if prog.Pages > 0 && (prog.NextPageToken == "" || prog.Reached) {
			return false, nil
		}
		if maxPages > 0 && prog.Pages >= maxPages {
			return true, nil
		}
		tok := prog.NextPageToken
		var stale bool
		for page, err := range circleci.PagesFrom(ctx, prog.NextPageToken, fetch) {
			if err != nil {
				if !restarted && stalePageToken(err, tok) != nil {
					stale = true
					break
				}
				return false, err
			}
			prog.Pages++
			prog.NextPageToken = page.NextPageToken
			found := false
			for _, p := range page.Items {
				if p.ProjectSlug != "" && !slices.Contains(prog.Slugs, p.ProjectSlug) {
					prog.Slugs = append(prog.Slugs, p.ProjectSlug)
					found = true
				}
				if p.CreatedAt.After(prog.Newest) {
					prog.Newest = p.CreatedAt.UTC()
				}
				if !stopBefore.IsZero() && p.CreatedAt.Before(stopBefore) {
					prog.Reached = true
				}
			}
			if found {
				slices.Sort(prog.Slugs)
			}
			// A copy: the keep-alive goroutine sends the details while prog
			// changes.
			snap := *prog
			snap.Slugs = slices.Clone(prog.Slugs)
			hb.record(snap)
			if page.NextPageToken == "" || prog.Reached {
				return false, nil
			}
			if maxPages > 0 && prog.Pages >= maxPages {
				return true, nil
			}
			tok = page.NextPageToken
		}
		if !stale {
			// Unreachable: the iteration ends on the last page or an error.
			return false, &circleci.Error{Class: circleci.ClassPagination,
				Message: "the org pipeline list ended without a last page"}
		}
		prog.Pages, prog.NextPageToken = 0, ""
		snap := *prog
		snap.Slugs = slices.Clone(prog.Slugs)
		hb.record(snap)
	}
}

// mergeRecord returns a connection's new project record: the projects of prev
// that belong to org (all of them when org is empty), plus add, minus those of
// drop (compared as canonical slugs); sorted, deduplicated, blank slugs left
// out.
func mergeRecord(org string, prev, add, drop []string) []string {
	var out []string
	for _, s := range prev {
		if s = strings.TrimSpace(s); s != "" && (org == "" || inOrg(org, s)) {
			out = append(out, s)
		}
	}
	for _, s := range add {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	if len(drop) > 0 {
		gone := map[string]bool{}
		for _, s := range drop {
			gone[canonicalSlug(s)] = true
		}
		out = slices.DeleteFunc(out, func(s string) bool { return gone[canonicalSlug(s)] })
	}
	slices.Sort(out)
	return slices.Compact(out)
}
