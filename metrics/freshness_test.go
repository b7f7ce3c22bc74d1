package metrics

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/internal/testenv"
	"github.com/circleci-sync/circleci-sync/store"
)

// freshnessSeries are the store collector's series.
var freshnessSeries = []string{NewestPipelineAgeName, NewestPipelineTimestampName,
	ConnectionLastRunTimestampName, StoreScrapeErrorsTotalName}

// clock is a settable clock for the store collector.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

// now returns the clock's time.
func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// advance moves the clock on by d.
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newClockedMetrics returns a Metrics whose store collector reads clk.
func newClockedMetrics(t *testing.T, opts Options, clk *clock) *Metrics {
	m := newMetrics(t, opts)
	m.now = clk.now
	return m
}

// openSQLite opens a store on a new SQLite file, closed when t ends unless closed
// before.
func openSQLite(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), testenv.SQLiteURL(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// pipeline is a minimal pipeline of the project.
func pipeline(id, slug string, number int64, created time.Time) circleci.Pipeline {
	return circleci.Pipeline{ID: id, ProjectSlug: slug, Number: number,
		State: circleci.PipelineStateCreated, CreatedAt: created}
}

func TestFreshnessFromSQLite(t *testing.T) {
	ctx := context.Background()
	st := openSQLite(t)
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	_, err := st.WriteBatch(ctx, store.Batch{Pipelines: []circleci.Pipeline{
		pipeline("a1", "gh/org/a", 1, t0.Add(-2*time.Hour)),
		pipeline("a2", "gh/org/a", 2, t0.Add(-30*time.Minute)),
		pipeline("b1", "gh/org/b", 1, t0.Add(-90*time.Second+250*time.Millisecond)),
	}})
	require.NoError(t, err)
	require.NoError(t, st.SaveConnectionState(ctx, store.ConnectionState{ConnectionID: "prod", OrgSlug: "gh/org",
		LastRunAt: t0.Add(-5 * time.Minute)}))
	require.NoError(t, st.SaveConnectionState(ctx, store.ConnectionState{ConnectionID: "never-ran", OrgSlug: "gh/x"}))

	clk := &clock{t: t0}
	m := newClockedMetrics(t, Options{}, clk)
	require.NoError(t, m.RegisterStore(st))

	want := func(ageA, ageB string) string {
		return `
# HELP circleci_sync_connection_last_run_timestamp_seconds When the last completed sync of the connection ended, in Unix seconds.
# TYPE circleci_sync_connection_last_run_timestamp_seconds gauge
circleci_sync_connection_last_run_timestamp_seconds{connection="prod"} 1.7145573e+09
# HELP circleci_sync_newest_pipeline_age_seconds Seconds since the created_at of the project's newest stored pipeline.
# TYPE circleci_sync_newest_pipeline_age_seconds gauge
circleci_sync_newest_pipeline_age_seconds{project="gh/org/a"} ` + ageA + `
circleci_sync_newest_pipeline_age_seconds{project="gh/org/b"} ` + ageB + `
# HELP circleci_sync_newest_pipeline_timestamp_seconds The created_at of the project's newest stored pipeline, in Unix seconds.
# TYPE circleci_sync_newest_pipeline_timestamp_seconds gauge
circleci_sync_newest_pipeline_timestamp_seconds{project="gh/org/a"} 1.7145558e+09
circleci_sync_newest_pipeline_timestamp_seconds{project="gh/org/b"} 1.71455751025e+09
# HELP circleci_sync_store_scrape_errors_total Store reads of a metrics scrape that failed; their series are missing from that scrape.
# TYPE circleci_sync_store_scrape_errors_total counter
circleci_sync_store_scrape_errors_total 0
`
	}
	require.NoError(t, testutil.GatherAndCompare(m.Registry(), strings.NewReader(want("1800", "89.75")), freshnessSeries...))

	// A newer pipeline of b. Within the cache's lifetime the scrape does not see it,
	// but the ages still grow with the clock.
	_, err = st.WriteBatch(ctx, store.Batch{Pipelines: []circleci.Pipeline{pipeline("b2", "gh/org/b", 2, t0.Add(5*time.Second))}})
	require.NoError(t, err)
	clk.advance(10 * time.Second)
	require.NoError(t, testutil.GatherAndCompare(m.Registry(), strings.NewReader(want("1810", "99.75")), freshnessSeries...))

	// Once the cache expires, it does.
	clk.advance(DefaultStoreCacheTTL)
	got := scrape(t, m)
	require.Contains(t, got, `circleci_sync_newest_pipeline_age_seconds{project="gh/org/b"} 20`+"\n")
	require.Contains(t, got, `circleci_sync_newest_pipeline_timestamp_seconds{project="gh/org/b"} 1.714557605e+09`+"\n")
	require.Contains(t, got, `circleci_sync_newest_pipeline_age_seconds{project="gh/org/a"} 1825`+"\n")

	problems, err := testutil.GatherAndLint(m.Registry(), freshnessSeries...)
	require.NoError(t, err)
	require.Empty(t, problems)
}

func TestFreshnessClosedStore(t *testing.T) {
	st := openSQLite(t)
	_, err := st.WriteBatch(context.Background(), store.Batch{Pipelines: []circleci.Pipeline{
		pipeline("a1", "gh/org/a", 1, time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)),
	}})
	require.NoError(t, err)
	require.NoError(t, st.Close())

	var logs testenv.Buffer
	clk := &clock{t: time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)}
	m := newClockedMetrics(t, Options{Logger: newTestLogger(&logs)}, clk)
	require.NoError(t, m.RegisterStore(st))
	m.ObserveBatch(store.Batch{}, store.WriteStats{Written: 3})

	// The scrape succeeds: both reads are counted as errors, their series left out,
	// and the other collectors still served.
	body := scrape(t, m)
	require.Contains(t, body, StoreScrapeErrorsTotalName+" 2\n")
	require.Contains(t, body, RowsWrittenTotalName+" 3\n")
	require.Contains(t, body, "go_goroutines ")
	require.NotContains(t, body, NewestPipelineAgeName)
	require.NotContains(t, body, NewestPipelineTimestampName)
	require.NotContains(t, body, ConnectionLastRunTimestampName)
	require.Contains(t, logs.String(), "metrics: store read failed")
	require.Contains(t, logs.String(), "read=\"newest pipelines\"")
	require.Contains(t, logs.String(), "read=\"connection states\"")

	// A failed read is cached like a successful one: no new query within the TTL.
	body = scrape(t, m)
	require.Contains(t, body, StoreScrapeErrorsTotalName+" 2\n")
	clk.advance(DefaultStoreCacheTTL)
	body = scrape(t, m)
	require.Contains(t, body, StoreScrapeErrorsTotalName+" 4\n")
}

func TestFreshnessOneReadFails(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	st := &fakeStore{
		newest:     map[string]time.Time{"gh/o/a": t0.Add(-time.Minute)},
		conns:      []store.ConnectionState{{ConnectionID: "c1", LastRunAt: t0}},
		failNewest: true,
	}
	clk := &clock{t: t0}
	m := newClockedMetrics(t, Options{}, clk)
	require.NoError(t, m.RegisterStore(st))
	require.NoError(t, testutil.GatherAndCompare(m.Registry(), strings.NewReader(`
# HELP circleci_sync_connection_last_run_timestamp_seconds When the last completed sync of the connection ended, in Unix seconds.
# TYPE circleci_sync_connection_last_run_timestamp_seconds gauge
circleci_sync_connection_last_run_timestamp_seconds{connection="c1"} 1.7145576e+09
# HELP circleci_sync_store_scrape_errors_total Store reads of a metrics scrape that failed; their series are missing from that scrape.
# TYPE circleci_sync_store_scrape_errors_total counter
circleci_sync_store_scrape_errors_total 1
`), freshnessSeries...))

	st.mu.Lock()
	st.failNewest, st.failConn = false, true
	st.mu.Unlock()
	clk.advance(DefaultStoreCacheTTL)
	require.NoError(t, testutil.GatherAndCompare(m.Registry(), strings.NewReader(`
# HELP circleci_sync_newest_pipeline_age_seconds Seconds since the created_at of the project's newest stored pipeline.
# TYPE circleci_sync_newest_pipeline_age_seconds gauge
circleci_sync_newest_pipeline_age_seconds{project="gh/o/a"} 75
# HELP circleci_sync_newest_pipeline_timestamp_seconds The created_at of the project's newest stored pipeline, in Unix seconds.
# TYPE circleci_sync_newest_pipeline_timestamp_seconds gauge
circleci_sync_newest_pipeline_timestamp_seconds{project="gh/o/a"} 1.71455754e+09
# HELP circleci_sync_store_scrape_errors_total Store reads of a metrics scrape that failed; their series are missing from that scrape.
# TYPE circleci_sync_store_scrape_errors_total counter
circleci_sync_store_scrape_errors_total 2
`), freshnessSeries...))
}

func TestFreshnessCacheAndTimeout(t *testing.T) {
	st := &fakeStore{newest: map[string]time.Time{}}
	clk := &clock{t: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)}
	m := newClockedMetrics(t, Options{StoreCacheTTL: time.Minute, StoreScrapeTimeout: time.Hour}, clk)
	require.NoError(t, m.RegisterStore(st))

	// Concurrent scrapes share one read.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { scrape(t, m) })
	}
	wg.Wait()
	require.Equal(t, 1, st.callCount())
	clk.advance(59 * time.Second)
	scrape(t, m)
	require.Equal(t, 1, st.callCount())
	clk.advance(time.Second)
	scrape(t, m)
	require.Equal(t, 2, st.callCount())
	// A clock set back reads again.
	clk.advance(-time.Hour)
	scrape(t, m)
	require.Equal(t, 3, st.callCount())

	// Every read had the scrape timeout as its deadline: an hour, give or take the
	// test's run time.
	st.mu.Lock()
	defer st.mu.Unlock()
	require.Len(t, st.deadlines, 6)
	for _, d := range st.deadlines {
		require.Greater(t, d, 50*time.Minute)
		require.LessOrEqual(t, d, time.Hour)
	}
}

func TestRegisterStoreTwice(t *testing.T) {
	m := newMetrics(t, Options{})
	require.NoError(t, m.RegisterStore(&fakeStore{}))
	err := m.RegisterStore(&fakeStore{})
	require.ErrorContains(t, err, "metrics: register the store collector")
}
