package e2e

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/store"
)

// TestMetricsMatchInsights syncs the fake into each backend, then requires the
// store's window metrics (the metric views' definitions) to equal the fake's
// Insights: every name over 90 and 30 days on all branches, and each name's
// summary on its project's default branch, which the daily and recoveries views
// summed over their days equal too. The fake's Insights lag is 0, so that it counts
// the young running runs the store has.
func TestMetricsMatchInsights(t *testing.T) {
	tsrv := startTemporal(t)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			dbURL := b.url(t)
			opts := datasetOptions(11)
			opts.InsightsLag = -1
			fake := startFake(t, opts)
			tokenEnv := newEnvName("TOKEN")
			t.Setenv(tokenEnv, fake.Token())
			tq := newID("e2e-metrics-" + b.name)
			startWorker(t, tsrv, tq, dbURL)
			s := &syncer{c: tsrv.Client(), taskQueue: tq}
			ins := connectionInputs(fake, newID("metrics"), tokenEnv)
			logResults(t, "full", ins, s.syncAll(t, ins))
			requireTablesEqual(t, dbURL, fake.Expected(fake.Token()))

			st, err := store.Open(t.Context(), dbURL)
			require.NoError(t, err)
			defer st.Close()
			c, err := circleci.New(circleci.Options{BaseURL: fake.URL, Token: fake.Token()})
			require.NoError(t, err)
			d := fake.Dataset()
			to := d.Now
			var compared, recovered int
			for _, days := range []int{90, 30} {
				sums, err := st.WorkflowSummaries(t.Context(), store.WindowFilter{
					From: d.Now.Add(-time.Duration(days) * 24 * time.Hour), To: to, AllBranches: true})
				require.NoError(t, err)
				mine := map[string]store.WorkflowSummary{}
				for _, s := range sums {
					mine[s.ProjectSlug+" "+s.WorkflowName] = s
				}
				for _, p := range d.Projects {
					q := circleci.SummaryQuery{AllBranches: true, ReportingWindow: fmt.Sprintf("last-%d-days", days)}
					for ins, err := range c.InsightsWorkflows(t.Context(), p.Slug, q) {
						require.NoError(t, err)
						got, ok := mine[p.Slug+" "+ins.Name]
						require.True(t, ok, "%s %s: no runs stored", p.Slug, ins.Name)
						requireSameMetrics(t, fmt.Sprintf("%s %s %dd", p.Slug, ins.Name, days), ins.Metrics, got, days)
						if got.MTTR != nil {
							recovered++
						}
						delete(mine, p.Slug+" "+ins.Name)
						compared++
					}
				}
				assert.Empty(t, mine, "names Insights does not list")
			}
			require.Positive(t, recovered, "a name with a recovery")
			compared += compareNameSummaries(t, fake, st, dbURL, d, to)
			t.Logf("%d Insights summaries equal the store's metrics (%d with an MTTR)", compared, recovered)
		})
	}
}

// compareNameSummaries compares each name's /summary on the default branch with
// the store's per-branch metrics over the 90 days and with the views summed over
// their days, and returns how many it did.
func compareNameSummaries(t *testing.T, fake *circlecitest.Server, st store.Store, dbURL string, d circlecitest.Dataset,
	to time.Time) int {
	db, err := openDB(dbURL)
	require.NoError(t, err)
	defer db.Close()
	sums, err := st.WorkflowSummaries(t.Context(), store.WindowFilter{From: to.Add(-90 * 24 * time.Hour), To: to})
	require.NoError(t, err)
	n := 0
	for _, s := range sums {
		var p circlecitest.Project
		for _, q := range d.Projects {
			if q.Slug == s.ProjectSlug {
				p = q
			}
		}
		if s.Branch != p.VCSInfo.DefaultBranch {
			continue
		}
		u := fake.URL + "/api/v2/insights/" + url.PathEscape(s.ProjectSlug) + "/workflows/" +
			url.PathEscape(s.WorkflowName) + "/summary?branch=" + url.QueryEscape(s.Branch)
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
		require.NoError(t, err)
		req.Header.Set("Circle-Token", fake.Token())
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var sum struct {
			Metrics circleci.WorkflowMetrics `json:"metrics"`
		}
		err = json.NewDecoder(resp.Body).Decode(&sum)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		requireSameMetrics(t, s.ProjectSlug+" "+s.WorkflowName+" on "+s.Branch, sum.Metrics, s, 90)
		requireViewsAgree(t, db, s, sum.Metrics)
		n++
	}
	require.Positive(t, n, "a name on a default branch")
	return n
}

// requireSameMetrics requires Insights' metrics and the store's to agree: counts and
// whole seconds exactly, rates within float rounding; throughput is the stored runs
// per day of the reporting window.
func requireSameMetrics(t *testing.T, what string, ins circleci.WorkflowMetrics, got store.WorkflowSummary, days int) {
	t.Helper()
	require.Equal(t, ins.TotalRuns, got.Runs, "%s: runs", what)
	require.Equal(t, ins.SuccessfulRuns, got.Successful, "%s: successful", what)
	require.Equal(t, ins.FailedRuns, got.Failed, "%s: failed", what)
	require.InDelta(t, ins.SuccessRate, got.SuccessRate, 1e-9, "%s: success rate", what)
	require.InDelta(t, ins.Throughput, float64(got.Runs)/float64(days), 1e-9, "%s: throughput", what)
	dm := ins.DurationMetrics
	require.Equal(t, []*int64{dm.Min, dm.Mean, dm.Median, dm.P95, dm.Max},
		[]*int64{got.DurationMin, got.DurationMean, got.DurationMedian, got.DurationP95, got.DurationMax}, "%s: durations", what)
	require.Equal(t, ins.MTTR, got.MTTR, "%s: mttr", what)
	if ins.TotalRecoveries != nil {
		require.Equal(t, *ins.TotalRecoveries, got.Recoveries, "%s: recoveries", what)
	}
}

// requireViewsAgree requires circleci_workflow_daily and circleci_workflow_recoveries,
// summed over every day of a name and branch, to give Insights' counts, extremes and
// MTTR (the dataset is younger than Insights' 90 days).
func requireViewsAgree(t *testing.T, db *sql.DB, s store.WorkflowSummary, ins circleci.WorkflowMetrics) {
	t.Helper()
	what := s.ProjectSlug + " " + s.WorkflowName + " on " + s.Branch + " (views)"
	args := []any{s.ProjectSlug, s.WorkflowName, s.Branch}
	var runs, successful, failed int64
	var dmin, dmax sql.NullInt64
	require.NoError(t, db.QueryRowContext(t.Context(), `SELECT sum(runs), sum(successful_runs), sum(failed_runs),
		min(duration_min_secs), max(duration_max_secs) FROM circleci_workflow_daily
		WHERE project_slug = $1 AND workflow_name = $2 AND branch = $3`, args...).Scan(
		&runs, &successful, &failed, &dmin, &dmax))
	require.Equal(t, []int64{ins.TotalRuns, ins.SuccessfulRuns, ins.FailedRuns}, []int64{runs, successful, failed}, what)
	require.Equal(t, ins.DurationMetrics.Min, nullInt(dmin), what)
	require.Equal(t, ins.DurationMetrics.Max, nullInt(dmax), what)
	var recoveries int64
	var total sql.NullInt64
	require.NoError(t, db.QueryRowContext(t.Context(), `SELECT count(*), sum(recovery_secs)
		FROM circleci_workflow_recoveries WHERE project_slug = $1 AND workflow_name = $2 AND branch = $3`, args...).Scan(
		&recoveries, &total))
	var mttr *int64
	if recoveries > 0 {
		mttr = new(total.Int64 / recoveries)
	}
	require.Equal(t, ins.MTTR, mttr, what+": mttr")
}

// nullInt is v as a pointer, nil for NULL.
func nullInt(v sql.NullInt64) *int64 {
	if !v.Valid {
		return nil
	}
	return &v.Int64
}
