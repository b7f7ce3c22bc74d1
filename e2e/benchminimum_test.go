package e2e

import (
	"context"
	"fmt"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/store"
)

// Routes of the requests a sync makes that are not in the fake's
// MinimumRequests: verification and discovery.
var discoveryRoutes = []string{
	circlecitest.RouteMe, circlecitest.RouteCollaborations, circlecitest.RouteFollowedProjects,
	circlecitest.RoutePipelines,
}

// pagesOf is the number of pages a list of n items takes (at least one), as
// the fake counts them.
func pagesOf(n int) int { return max(1, (n+circlecitest.PageSize-1)/circlecitest.PageSize) }

// fullMinimumByRoute is MinimumRequests by route.
func fullMinimumByRoute(m circlecitest.RequestBudget) map[string]int {
	return map[string]int{
		circlecitest.RouteProject:           m.Projects,
		circlecitest.RouteProjectPipelines:  m.PipelinePages,
		circlecitest.RoutePipelineWorkflows: m.WorkflowPages,
		circlecitest.RouteWorkflowJobs:      m.JobPages,
		circlecitest.RouteUser:              m.Users,
	}
}

// incMinimum is the least number of requests an incremental sync makes, by
// part, computed from the store before the sync and the fake's data (see
// incrementalMinimum). Overlap* are not part of it: they describe what the
// sync's overlap re-reads on top.
type incMinimum struct {
	// ProjectPages: per project, the pipeline list pages up to and including
	// the first pipeline that is not new (one page when nothing is new).
	ProjectPages int
	// OpenPipelines: one GET /pipeline/{id} per open pipeline in the store
	// that is not on the pipeline list pages read (those give it).
	OpenPipelines int
	// OpenWorkflowLists: the workflow list pages of those pipelines.
	OpenWorkflowLists int
	// OpenJobLists: the job list pages of the open workflows in the store.
	OpenJobLists int
	// RerunLists: the workflow list pages of the other stored pipelines
	// created within the rerun window (neither open nor new).
	RerunLists int
	// RerunJobLists: the job list pages of the rerun workflows under those
	// pipelines (new workflows of unchanged pipelines).
	RerunJobLists int
	// NewWorkflowLists and NewJobLists: the new pipelines' workflow list pages
	// and their workflows' job list pages.
	NewWorkflowLists, NewJobLists int
	// NewUsers: one GET /user/{id} per user the fake's Expected holds and the
	// store does not.
	NewUsers int

	// Counts behind the figures: open pipelines and workflows, pipelines in the
	// rerun window (neither open nor new), new pipelines.
	NOpenPipelines, NOpenWorkflows, NRerunWindow, NNew int
	// OverlapPipelines are the stored pipelines, neither open nor new nor in
	// the rerun window, that the overlap (watermark - overlap) re-reads; their
	// workflow lists take OverlapWorkflowLists pages.
	OverlapPipelines, OverlapWorkflowLists int
}

// Total is the minimum number of requests.
func (m incMinimum) Total() int {
	return m.ProjectPages + m.OpenPipelines + m.OpenWorkflowLists + m.OpenJobLists + m.RerunLists +
		m.RerunJobLists + m.NewWorkflowLists + m.NewJobLists + m.NewUsers
}

// byRoute is the minimum by route.
func (m incMinimum) byRoute() map[string]int {
	return map[string]int{
		circlecitest.RouteProjectPipelines:  m.ProjectPages,
		circlecitest.RoutePipeline:          m.OpenPipelines,
		circlecitest.RoutePipelineWorkflows: m.OpenWorkflowLists + m.RerunLists + m.NewWorkflowLists,
		circlecitest.RouteWorkflowJobs:      m.OpenJobLists + m.RerunJobLists + m.NewJobLists,
		circlecitest.RouteUser:              m.NewUsers,
	}
}

// String spells the minimum out.
func (m incMinimum) String() string {
	return fmt.Sprintf("%d = %d project pages + %d GETs of the %d open pipelines not on them + %d workflow lists of the open pipelines + "+
		"%d job lists of %d open workflows + %d workflow lists of %d pipelines in the rerun window + "+
		"%d rerun job lists + %d workflow lists and %d job lists of %d new pipelines + %d new users",
		m.Total(), m.ProjectPages, m.OpenPipelines, m.NOpenPipelines, m.OpenWorkflowLists, m.OpenJobLists, m.NOpenWorkflows,
		m.RerunLists, m.NRerunWindow, m.RerunJobLists, m.NewWorkflowLists, m.NewJobLists, m.NNew, m.NewUsers)
}

// incrementalMinimum computes the least number of requests the next
// incremental sync makes, from the store as it is before that sync (at
// databaseURL) and the fake's current data d and Expected ex:
//
//   - per project, ceil((new+1)/20) pipeline list pages, new being the
//     project's pipelines in newPipelines: the sync must see the first pipeline
//     that is not new to know it has them all;
//   - per open pipeline of the store (store.OpenItems: a non-final state or a
//     non-terminal workflow) its workflow list pages, and a GET /pipeline/{id}
//     unless it is on the pipeline list pages just counted;
//   - per open workflow of the store (status not terminal) its job list pages:
//     the sync cannot know it did not change;
//   - per other stored pipeline created at or after now - rerunWindow (none
//     when rerunWindow is 0) its workflow list pages, and the job list pages
//     of the rerun workflows among them (rerunWorkflows);
//   - per new pipeline its workflow list pages and its workflows' job list
//     pages;
//   - a GET /user/{id} per user of ex not in the store.
//
// Pages are counted on the fake's current lists (pagesOf). Verification and
// discovery are not counted. The overlap's re-reads (stored pipelines created
// at or after the project's newest stored pipeline minus overlap) are counted
// apart, as OverlapPipelines.
func incrementalMinimum(ctx context.Context, databaseURL string, d circlecitest.Dataset, ex circlecitest.Expected,
	now time.Time, rerunWindow, overlap time.Duration, newPipelines, rerunWorkflows []string) (incMinimum, error) {
	var m incMinimum
	st, err := store.Open(ctx, databaseURL)
	if err != nil {
		return m, fmt.Errorf("open the store: %w", err)
	}
	defer st.Close()

	x := newMinimumIndex(d, newPipelines, rerunWorkflows)
	newest, err := st.NewestPipelines(ctx)
	if err != nil {
		return m, fmt.Errorf("newest stored pipelines: %w", err)
	}

	for _, proj := range ex.Projects {
		if err := x.addProject(ctx, st, &m, proj.Slug, newest[proj.Slug], now, rerunWindow, overlap); err != nil {
			return m, err
		}
	}

	stored, err := storedIDs(ctx, databaseURL, "circleci_users")
	if err != nil {
		return m, err
	}
	for _, u := range ex.Users {
		if !stored[u.ID] {
			m.NewUsers++
		}
	}
	return m, nil
}

// minimumIndex is the dataset as incrementalMinimum reads it.
type minimumIndex struct {
	wfsOf     map[string][]string // pipeline → workflows
	jobsOf    map[string]int      // workflow → jobs
	isNew     map[string]bool     // new pipelines
	isRerun   map[string]bool     // rerun workflows
	byProject map[string][]circlecitest.Pipeline
}

// newMinimumIndex indexes d, its new pipelines and its rerun workflows.
func newMinimumIndex(d circlecitest.Dataset, newPipelines, rerunWorkflows []string) minimumIndex {
	wfsOf := map[string][]string{} // pipeline → workflows
	jobsOf := map[string]int{}     // workflow → jobs
	for _, w := range d.Workflows {
		wfsOf[w.PipelineID] = append(wfsOf[w.PipelineID], w.ID)
	}
	for _, j := range d.Jobs {
		jobsOf[j.WorkflowID]++
	}
	isNew := map[string]bool{}
	for _, id := range newPipelines {
		isNew[id] = true
	}
	isRerun := map[string]bool{}
	for _, id := range rerunWorkflows {
		isRerun[id] = true
	}
	byProject := map[string][]circlecitest.Pipeline{}
	for _, p := range d.Pipelines {
		byProject[p.ProjectSlug] = append(byProject[p.ProjectSlug], p)
	}
	return minimumIndex{wfsOf: wfsOf, jobsOf: jobsOf, isNew: isNew, isRerun: isRerun, byProject: byProject}
}

// addProject adds to m the requests of project slug, whose newest stored
// pipeline was created at newest (zero if none).
func (x minimumIndex) addProject(ctx context.Context, st store.Store, m *incMinimum, slug string, newest time.Time,
	now time.Time, rerunWindow, overlap time.Duration) error {
	wfsOf, jobsOf, isNew, isRerun, byProject := x.wfsOf, x.jobsOf, x.isNew, x.isRerun, x.byProject
	nNew := 0
	for _, p := range byProject[slug] {
		if isNew[p.ID] {
			nNew++
		}
	}
	m.NNew += nNew
	pages := pagesOf(nNew + 1)
	m.ProjectPages += pages
	onPages := map[string]bool{} // the pipelines on the pages read (the list is newest first)
	for i, p := range byProject[slug] {
		if i < pages*circlecitest.PageSize {
			onPages[p.ID] = true
		}
	}

	items, err := st.OpenItems(ctx, slug)
	if err != nil {
		return fmt.Errorf("open items of %s: %w", slug, err)
	}
	open := map[string]bool{}
	for _, id := range items.PipelineIDs {
		open[id] = true
		m.NOpenPipelines++
		if !onPages[id] {
			m.OpenPipelines++
		}
		m.OpenWorkflowLists += pagesOf(len(wfsOf[id]))
	}
	for _, id := range items.WorkflowIDs {
		m.NOpenWorkflows++
		m.OpenJobLists += pagesOf(jobsOf[id])
	}
	inWindow := map[string]bool{}
	if rerunWindow > 0 {
		recent, err := st.PipelinesCreatedSince(ctx, slug, now.Add(-rerunWindow))
		if err != nil {
			return fmt.Errorf("recent pipelines of %s: %w", slug, err)
		}
		for _, id := range recent {
			if open[id] || isNew[id] {
				continue
			}
			inWindow[id] = true
			m.NRerunWindow++
			m.RerunLists += pagesOf(len(wfsOf[id]))
			for _, w := range wfsOf[id] {
				if isRerun[w] {
					m.RerunJobLists += pagesOf(jobsOf[w])
				}
			}
		}
	}
	for _, p := range byProject[slug] {
		switch {
		case isNew[p.ID]:
			m.NewWorkflowLists += pagesOf(len(wfsOf[p.ID]))
			for _, w := range wfsOf[p.ID] {
				m.NewJobLists += pagesOf(jobsOf[w])
			}
		case open[p.ID] || inWindow[p.ID]:
		case !newest.IsZero() && !p.CreatedAt.Before(newest.Add(-overlap)):
			m.OverlapPipelines++
			m.OverlapWorkflowLists += pagesOf(len(wfsOf[p.ID]))
		}
	}
	return nil
}

// storedIDs returns the ids of a table's rows.
func storedIDs(ctx context.Context, databaseURL, table string) (map[string]bool, error) {
	db, err := openDB(databaseURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT id FROM "+table)
	if err != nil {
		return nil, fmt.Errorf("read the ids of %s: %w", table, err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("read the ids of %s: %w", table, err)
		}
		out[id] = true
	}
	return out, rows.Err()
}

// rowCounts counts the rows of the data tables and the skipped ledger.
func rowCounts(ctx context.Context, databaseURL string) (map[string]int64, int64, error) {
	db, err := openDB(databaseURL)
	if err != nil {
		return nil, 0, err
	}
	defer db.Close()
	out := map[string]int64{}
	var total int64
	for _, q := range tableQueries {
		var n int64
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+q.table).Scan(&n); err != nil {
			return nil, 0, fmt.Errorf("count %s: %w", q.table, err)
		}
		out[q.table] = n
		total += n
	}
	return out, total, nil
}
