package activities

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/circleci/webhooks"
	"github.com/circleci-sync/circleci-sync/store"
)

// DefaultDiscoveryMaxPages is the default Activities.DiscoveryMaxPages: the
// org's 1,000 newest pipelines (the recorded projects cover older ones).
const DefaultDiscoveryMaxPages = 50

// discoveryMaxPages is DiscoveryMaxPages or its default.
func (a *Activities) discoveryMaxPages() int {
	if a.DiscoveryMaxPages > 0 {
		return a.DiscoveryMaxPages
	}
	return DefaultDiscoveryMaxPages
}

// DiscoveryOverlap is how far before the last discovery's watermark the next
// one reads the org pipeline list: it is not always in exact creation order.
const DiscoveryOverlap = time.Hour

// DiscoverProjects returns the projects to sync and adds them to the
// connection's record: in.Projects when given, else the org's followed,
// recorded and org-pipeline projects (the whole list on a first discovery,
// then back to the last watermark). Finding none is ErrNoResources.
func (a *Activities) DiscoverProjects(ctx context.Context, in DiscoverInput) (DiscoverResult, error) {
	if err := a.checkStore(); err != nil {
		return DiscoverResult{}, err
	}
	conn := in.Connection
	org := strings.TrimSpace(conn.OrgSlug)
	var prog DiscoverProgress
	resumed := heartbeatDetails(ctx, &prog)
	r := a.startRun(ctx, conn, nil, func() any { return prog })
	defer r.stop()

	var res DiscoverResult
	slugs, err := configuredSlugs(in.Projects, org)
	if err != nil {
		return res, err
	}
	configured := len(in.Projects) > 0
	st, err := a.Store.ConnectionState(ctx, conn.ConnectionID)
	if err != nil {
		return res, applicationError(ctx, err, "read the state of connection "+conn.ConnectionID)
	}
	var recorded []string
	for _, s := range st.Projects {
		if webhooks.InOrg(org, s) {
			recorded = append(recorded, s)
		}
	}
	if !configured && len(recorded) > 0 && fresh(st.DiscoveredAt, in.FreshFor.D()) {
		res.Projects = slices.Compact(slices.Sorted(slices.Values(recorded)))
		res.Recent = true
		r.log.Info("projects discovered recently: the recorded ones are synced", "projects", len(res.Projects),
			"discovered_at", st.DiscoveredAt)
		return res, nil
	}
	readFollowed := false
	if !configured {
		if resumed {
			r.log.Info("resuming the org pipeline list", "pages_read", prog.Pages, "projects_found", len(prog.Slugs))
		}
		var found []string
		found, readFollowed, err = r.discover(ctx, st, len(recorded) == 0, in.OrgListLater, &prog, &res)
		if err != nil {
			return res, err
		}
		slugs = append(append(found, prog.Slugs...), recorded...)
		if len(slugs) == 0 {
			return res, nonRetryable(fmt.Sprintf("the token sees no project of org %s: follow the projects in CircleCI or list them in `projects`",
				org), ErrNoResources)
		}
	}
	res.Projects = slices.Compact(slices.Sorted(slices.Values(slugs)))
	return res, r.saveDiscovery(ctx, st, prog, res, configured, readFollowed)
}

// saveDiscovery adds the projects found to the connection's record.
func (r *activityRun) saveDiscovery(ctx context.Context, st store.ConnectionState, prog DiscoverProgress,
	res DiscoverResult, configured, readFollowed bool,
) error {
	conn := r.conn
	st.ConnectionID, st.OrgSlug, st.BaseURL = conn.ConnectionID, conn.OrgSlug, baseURLOrDefault(conn.BaseURL)
	st.Projects = mergeRecord(strings.TrimSpace(conn.OrgSlug), st.Projects, res.Projects, nil)
	now := time.Now().UTC()
	if readFollowed {
		st.FollowedAt = now
	}
	if !configured && !res.OrgListLeft {
		st.DiscoveredAt = now
	}
	// The watermark moves only when the list was read back to it (or to its
	// end), not when DiscoveryMaxPages cut it short.
	if prog.Newest.After(st.DiscoveryWatermark) && !res.OrgPipelinesTruncated {
		st.DiscoveryWatermark = prog.Newest.UTC()
	}
	if err := r.a.Store.SaveConnectionState(ctx, st); err != nil {
		return applicationError(ctx, err, "save the state of connection "+conn.ConnectionID)
	}
	r.log.Info("projects discovered", "projects", len(res.Projects), "configured", configured,
		"recorded", len(st.Projects), "first_discovery", res.FirstDiscovery,
		"org_pipeline_pages", res.OrgPipelinePages, "org_pipelines_truncated", res.OrgPipelinesTruncated,
		"requests", res.Requests)
	return nil
}

// configuredSlugs returns the configured projects, trimmed, or why they are invalid.
func configuredSlugs(projects []string, org string) ([]string, error) {
	var slugs []string
	for _, p := range projects {
		if p = strings.TrimSpace(p); p != "" {
			slugs = append(slugs, p)
		}
	}
	switch {
	case len(projects) > 0 && len(slugs) == 0:
		return nil, nonRetryable("the configured projects are all empty slugs", ErrInvalidInput)
	case len(projects) == 0 && org == "":
		return nil, nonRetryable("the connection has no org_slug and no projects are configured", ErrInvalidInput)
	}
	return slugs, nil
}

// discover reads the followed projects (unless read within RefreshAfter) and
// the org pipeline list from where prog stands; on a first discovery that found
// followed projects, with later, it leaves the list to DiscoverCycleRest.
func (r *activityRun) discover(ctx context.Context, st store.ConnectionState, first, later bool,
	prog *DiscoverProgress, res *DiscoverResult,
) (slugs []string, readFollowed bool, err error) {
	conn := r.conn
	org := strings.TrimSpace(conn.OrgSlug)
	if err := r.connect(ctx); err != nil {
		return nil, false, err
	}
	res.FirstDiscovery = first
	readFollowed = first || !fresh(st.FollowedAt, r.a.rereadAfter())
	if readFollowed {
		followed, err := r.api.followedProjects(ctx)
		if err != nil {
			res.Requests = r.api.Requests()
			return nil, false, r.diagnose(ctx, err, "list the followed projects")
		}
		for _, f := range followed {
			if s := f.Slug(); webhooks.InOrg(org, s) {
				slugs = append(slugs, s)
			}
		}
	}
	if first && later && len(slugs) > 0 && prog.Pages == 0 {
		res.Requests, res.OrgListLeft = r.api.Requests(), true
		return slugs, readFollowed, nil
	}
	maxPages := r.a.discoveryMaxPages()
	var stopBefore time.Time
	switch {
	case first:
		maxPages = 0
	case !st.DiscoveryWatermark.IsZero():
		stopBefore = st.DiscoveryWatermark.Add(-DiscoveryOverlap)
	}
	res.OrgPipelinesTruncated, err = readOrgPipelines(ctx, r.api, org, maxPages, stopBefore, prog, r.hb)
	res.Requests = r.api.Requests()
	res.OrgPipelinePages = prog.Pages
	if err != nil {
		return nil, false, r.diagnose(ctx, err, "list the pipelines of organization "+org)
	}
	return slugs, readFollowed, nil
}

// diagnose maps a failed discovery request to the activity's error: a 401, 403
// or 404 runs the verification sequence, whose verdict says what to do.
func (r *activityRun) diagnose(ctx context.Context, err error, what string) error {
	if ce, ok := circleci.AsError(err); ok && (ce.Class == circleci.ClassUnauthorized ||
		ce.Class == circleci.ClassForbidden || ce.Class == circleci.ClassNotFound) {
		if _, verr := verifySequence(ctx, r.api, r.conn, nil); verr != nil {
			return verr
		}
	}
	return applicationError(ctx, err, what)
}

// readOrgPipelines reads org's pipeline list from where prog stands, up to
// maxPages pages (0: all) or stopBefore, heartbeating prog after each page. It
// reports whether maxPages left pages unread. A stale saved page token
// restarts the list from its first page, once.
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
			prog.add(page, stopBefore)
			hb.record(prog.snapshot())
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
		hb.record(prog.snapshot())
	}
}

// add records a page of the org pipeline list read.
func (prog *DiscoverProgress) add(page circleci.Page[circleci.Pipeline], stopBefore time.Time) {
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
}

// snapshot is a copy of prog for the heartbeat (sent while prog changes).
func (prog DiscoverProgress) snapshot() DiscoverProgress {
	prog.Slugs = slices.Clone(prog.Slugs)
	return prog
}
