package activities

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/store"
)

// crawlOptions is a dataset with every kind of unreachable entity, pipeline lists
// spanning two pages and job lists spanning two pages.
var crawlOptions = circlecitest.Options{
	Seed: 7, Projects: 3, PipelinesPerProject: 27,
	Faults: circlecitest.Faults{ExpiredPipelines: 4, BrokenPipelines: 3, MissingUsers: 2},
}

// syncProject runs StartProject and SyncPipelinePage until done, then
// CompleteProject; it returns the summed counts and the plan.
func syncProject(t *testing.T, f *fixture, slug string, since time.Time) (SyncCounts, ProjectPlan) {
	t.Helper()
	var plan ProjectPlan
	require.NoError(t, run(t, f.a.StartProject, StartProjectInput{Connection: f.conn, ProjectSlug: slug,
		Since: since, Overlap: Duration(time.Hour)}, &plan))
	counts := SyncCounts{Requests: plan.Requests, Written: plan.Written, Unchanged: plan.Unchanged}
	var newest time.Time
	tok := ""
	for n := 1; ; n++ {
		require.Less(t, n, 100, "paging does not end")
		var res PageResult
		require.NoError(t, run(t, f.a.SyncPipelinePage, PageInput{Connection: f.conn, ProjectSlug: slug,
			PageToken: tok, PageNumber: n, StopBefore: plan.StopBefore}, &res))
		counts.Add(res.Counts)
		if res.Newest.After(newest) {
			newest = res.Newest
		}
		if res.Done {
			require.Empty(t, res.NextPageToken)
			break
		}
		require.NotEmpty(t, res.NextPageToken)
		tok = res.NextPageToken
	}
	require.NoError(t, run(t, f.a.CompleteProject, CompleteProjectInput{Connection: f.conn, ProjectSlug: slug,
		Watermark: newest, Counts: counts}, nil))
	return counts, plan
}

// requireStoreMatches checks that the store holds exactly what ex says a complete
// sync stores, and exactly its unreachable entities in the skipped ledger.
func requireStoreMatches(t *testing.T, f *fixture, ex circlecitest.Expected) {
	t.Helper()
	d := f.tdb
	require.Equal(t, sortedIDs(ex.Projects, func(p circlecitest.Project) string { return p.Slug }),
		d.ids(t, "circleci_projects", "slug"))
	require.Equal(t, sortedIDs(ex.Pipelines, func(p circlecitest.Pipeline) string { return p.ID }),
		d.ids(t, "circleci_pipelines", "id"))
	require.Equal(t, sortedIDs(ex.Workflows, func(w circlecitest.Workflow) string { return w.ID }),
		d.ids(t, "circleci_workflows", "id"))
	require.Equal(t, sortedIDs(ex.Jobs, func(j circlecitest.Job) string { return j.ID }),
		d.ids(t, "circleci_jobs", "id"))
	require.Equal(t, sortedIDs(ex.Users, func(u circlecitest.User) string { return u.ID }),
		d.ids(t, "circleci_users", "id"))

	c, err := d.st.Counts(context.Background())
	require.NoError(t, err)
	require.Equal(t, store.Counts{Entities: map[string]int64{
		store.KindProject: int64(len(ex.Projects)), store.KindPipeline: int64(len(ex.Pipelines)),
		store.KindWorkflow: int64(len(ex.Workflows)), store.KindJob: int64(len(ex.Jobs)), store.KindUser: int64(len(ex.Users)),
	}, Skipped: int64(len(ex.Unreachable))}, c)

	type entry struct {
		Kind, ID, Slug, Reason string
		Status                 int
	}
	var want, got []entry
	for _, u := range ex.Unreachable {
		want = append(want, entry{u.Kind, u.ID, u.ProjectSlug, u.Reason, u.HTTPStatus})
	}
	ledger, err := d.st.Skipped(context.Background())
	require.NoError(t, err)
	for _, s := range ledger {
		got = append(got, entry{s.Kind, s.ID, s.ProjectSlug, s.Reason, s.HTTPStatus})
	}
	cmp := func(a, b entry) int {
		if a.Kind != b.Kind {
			return compareStrings(a.Kind, b.Kind)
		}
		return compareStrings(a.ID, b.ID)
	}
	slices.SortFunc(want, cmp)
	slices.SortFunc(got, cmp)
	require.Equal(t, want, got)

	// Stored workflow statuses are the current ones.
	statuses, err := d.st.WorkflowStatuses(context.Background(),
		sortedIDs(ex.Workflows, func(w circlecitest.Workflow) string { return w.ID }))
	require.NoError(t, err)
	for _, w := range ex.Workflows {
		require.Equal(t, w.Status, statuses[w.ID], "workflow %s", w.ID)
	}
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestFullCrawl discovers, pages, refreshes and resolves a whole fake organisation
// set and checks the store against the fake's Expected.
func TestFullCrawl(t *testing.T) {
	forEachBackend(t, func(t *testing.T, tdb testDB) {
		f := newFixture(t, crawlOptions, tdb)
		ex := f.srv.Expected(testToken)
		require.NotEmpty(t, ex.Unreachable)

		// Discovery, org by org (all three slug styles).
		orgs := map[string]bool{}
		for _, p := range ex.Projects {
			orgs[orgOf(p.Slug)] = true
		}
		require.Len(t, orgs, 3)
		var projects []string
		for org := range orgs {
			conn := f.conn
			conn.OrgSlug = org
			var res DiscoverResult
			require.NoError(t, run(t, f.a.DiscoverProjects, DiscoverInput{Connection: conn}, &res))
			var want []string
			for _, p := range ex.Projects {
				if p.OrganizationSlug == org {
					want = append(want, p.Slug)
				}
			}
			slices.Sort(want)
			require.Equal(t, want, res.Projects, "org %s", org)
			require.Positive(t, res.Requests)
			projects = append(projects, res.Projects...)
		}
		slices.Sort(projects)
		require.Equal(t, sortedIDs(ex.Projects, func(p circlecitest.Project) string { return p.Slug }), projects)

		f.srv.ResetStats()
		var total SyncCounts
		for _, slug := range projects {
			counts, plan := syncProject(t, f, slug, time.Time{})
			require.False(t, plan.Incremental)
			require.Equal(t, int64(len(projectPipelines(ex, slug))), counts.Of(store.KindPipeline))
			// A zero SyncedSince polls only the pipelines skipped for a server error.
			var rc SyncCounts
			require.NoError(t, run(t, f.a.RefreshProject, RefreshInput{Connection: f.conn, ProjectSlug: slug}, &rc))
			counts.Add(rc)
			total.Add(counts)
		}
		var users ResolveUsersResult
		require.NoError(t, run(t, f.a.ResolveUsers, ResolveUsersInput{Connection: f.conn, Projects: projects}, &users))
		total.Add(users.Counts)
		require.Equal(t, int64(len(ex.Users)), users.Counts.Of(store.KindUser))
		require.Equal(t, int64(ex.MinimumRequests.Users), users.Referenced)

		requireStoreMatches(t, f, ex)

		// Every request was counted, and the budget is close to the minimum:
		// only the retries of broken pipelines come on top.
		stats := f.srv.Stats()
		require.Equal(t, stats.Total, total.Requests)
		require.GreaterOrEqual(t, total.Requests, int64(ex.MinimumRequests.Total))
		broken := 0
		for _, u := range ex.Unreachable {
			if u.Reason == circlecitest.ReasonServerError {
				broken++
			}
		}
		// paging: 3 tries per broken pipeline; refresh: 3 more.
		require.Equal(t, int64(ex.MinimumRequests.Total+broken*(2+3)), total.Requests)

		// Project states were saved.
		for _, slug := range projects {
			st, err := tdb.st.ProjectState(context.Background(), f.conn.ConnectionID, slug)
			require.NoError(t, err)
			require.Equal(t, projectPipelines(ex, slug)[0].CreatedAt, st.Watermark)
			require.NotZero(t, st.LastRunAt)
			require.Positive(t, st.LastRun["pipelines"])
		}

		// A second, incremental sync stops at the watermark and changes nothing.
		slug := projects[0]
		counts, plan := syncProject(t, f, slug, time.Time{})
		require.True(t, plan.Incremental)
		require.Equal(t, plan.Watermark.Add(-time.Hour), plan.StopBefore)
		require.Less(t, counts.Of(store.KindPipeline), int64(len(projectPipelines(ex, slug))))
		require.Zero(t, counts.Written-counts.Skipped, "an unchanged incremental sync rewrote rows")
		requireStoreMatches(t, f, ex)

		// Users fetched recently are not fetched again.
		require.NoError(t, run(t, f.a.ResolveUsers, ResolveUsersInput{Connection: f.conn, Projects: projects,
			FreshFor: Duration(time.Hour)}, &users))
		require.Equal(t, int64(len(ex.Users)), users.Fresh)
		require.Equal(t, int64(0), users.Counts.Of(store.KindUser))

		// CompleteConnection keeps the projects and the figures.
		require.NoError(t, run(t, f.a.CompleteConnection, CompleteConnectionInput{Connection: f.conn,
			Projects: projects, Counts: total, Failed: 1}, nil))
		cs, err := tdb.st.ConnectionState(context.Background(), f.conn.ConnectionID)
		require.NoError(t, err)
		require.Equal(t, projects, cs.Projects)
		require.Equal(t, int64(1), cs.LastRun["failed_projects"])
		require.Equal(t, total.Requests, cs.LastRun["requests"])
		require.NotZero(t, cs.LastRunAt)
	})
}

// TestRefreshCatchesChanges: after the fake finishes running workflows and reruns
// old pipelines, RefreshProject brings the store back in step, and a second
// refresh lists no jobs.
func TestRefreshCatchesChanges(t *testing.T) {
	forEachBackend(t, func(t *testing.T, tdb testDB) {
		f := newFixture(t, circlecitest.Options{Seed: 3, Projects: 2, PipelinesPerProject: 22}, tdb)
		ex := f.srv.Expected(testToken)
		var projects []string
		for _, p := range ex.Projects {
			projects = append(projects, p.Slug)
		}
		starts := map[string]time.Time{}
		for _, slug := range projects {
			_, plan := syncProject(t, f, slug, time.Time{})
			starts[slug] = plan.StartedAt
		}
		requireStoreMatchesData(t, f, ex)

		items, err := tdb.st.OpenItems(context.Background(), projects[0])
		require.NoError(t, err)
		require.NotEmpty(t, items.PipelineIDs, "the dataset has no running pipeline")

		adv := f.srv.Advance(circlecitest.Advance{FinishRunning: true, Reruns: 3, Step: 2 * time.Hour})
		require.NotEmpty(t, adv.RerunWorkflows)
		ex = f.srv.Expected(testToken)
		window := ex.Pipelines[len(ex.Pipelines)-1].CreatedAt // every stored pipeline
		for _, slug := range projects {
			var rc SyncCounts
			require.NoError(t, run(t, f.a.RefreshProject, RefreshInput{Connection: f.conn, ProjectSlug: slug,
				SyncedSince: starts[slug], RerunWindowStart: window}, &rc))
			require.Equal(t, int64(len(projectPipelines(ex, slug))), rc.Of(store.KindPipeline))
		}
		requireStoreMatchesData(t, f, ex)
		items, err = tdb.st.OpenItems(context.Background(), projects[0])
		require.NoError(t, err)
		require.Empty(t, items.PipelineIDs)

		// Nothing changed since: the workflows are listed, no job list is.
		f.srv.ResetStats()
		var rc SyncCounts
		require.NoError(t, run(t, f.a.RefreshProject, RefreshInput{Connection: f.conn, ProjectSlug: projects[0],
			SyncedSince: starts[projects[0]], RerunWindowStart: window}, &rc))
		require.Zero(t, rc.Of(store.KindJob))
		require.Zero(t, f.srv.Stats().Count("GET /api/v2/workflow/{id}/job", 0))
		require.Equal(t, f.srv.Stats().Total, rc.Requests)

		// Resume: a retry after the last pipeline polls only the ones after it.
		targets, err := f.a.pollTargets(context.Background(), RefreshInput{Connection: f.conn,
			ProjectSlug: projects[0], SyncedSince: starts[projects[0]], RerunWindowStart: window})
		require.NoError(t, err)
		ids := targets.pipelines
		require.Greater(t, len(ids), 3)
		require.NoError(t, run(t, f.a.RefreshProject, RefreshInput{Connection: f.conn, ProjectSlug: projects[0],
			SyncedSince: starts[projects[0]], RerunWindowStart: window}, &rc,
			func(env *testsuite.TestActivityEnvironment) {
				env.SetHeartbeatDetails(RefreshProgress{LastPipelineID: ids[len(ids)-3], Counts: SyncCounts{Requests: 100}})
			}))
		require.Equal(t, int64(2), rc.Of(store.KindPipeline))
		require.Equal(t, int64(102), rc.Requests)
	})
}

// requireStoreMatchesData checks the data tables (not users nor the ledger)
// against ex.
func requireStoreMatchesData(t *testing.T, f *fixture, ex circlecitest.Expected) {
	t.Helper()
	d := f.tdb
	require.Equal(t, sortedIDs(ex.Pipelines, func(p circlecitest.Pipeline) string { return p.ID }),
		d.ids(t, "circleci_pipelines", "id"))
	require.Equal(t, sortedIDs(ex.Workflows, func(w circlecitest.Workflow) string { return w.ID }),
		d.ids(t, "circleci_workflows", "id"))
	require.Equal(t, sortedIDs(ex.Jobs, func(j circlecitest.Job) string { return j.ID }),
		d.ids(t, "circleci_jobs", "id"))
	statuses, err := d.st.WorkflowStatuses(context.Background(),
		sortedIDs(ex.Workflows, func(w circlecitest.Workflow) string { return w.ID }))
	require.NoError(t, err)
	for _, w := range ex.Workflows {
		require.Equal(t, w.Status, statuses[w.ID], "workflow %s", w.ID)
	}
	rows, err := d.db.Query("SELECT id, status FROM circleci_jobs")
	require.NoError(t, err)
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var id, status string
		require.NoError(t, rows.Scan(&id, &status))
		got[id] = status
	}
	require.NoError(t, rows.Err())
	for _, j := range ex.Jobs {
		require.Equal(t, j.Status, got[j.ID], "job %s", j.ID)
	}
}
