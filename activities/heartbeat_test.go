package activities

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
)

// TestHeartbeatsBeforeFirstIO: every long activity heartbeats from its start, so
// a first request that waits long (for the limiter, after a 429) or a slow first
// store query does not miss the heartbeat timeout. Here the keep-alive ticks
// every 10 ms and the first request or query takes 300 ms: heartbeats must have
// been sent meanwhile.
func TestHeartbeatsBeforeFirstIO(t *testing.T) {
	fastKeepAlive(t, 10*time.Millisecond)
	const delay = 300 * time.Millisecond
	opts := circlecitest.Options{Seed: 9, Projects: 1, PipelinesPerProject: 3}

	t.Run("SyncPipelinePage", func(t *testing.T) {
		f := newFixture(t, opts, openSQLite(t))
		slug := firstProject(f)
		var beats atomic.Int64
		var seen atomic.Int64
		seen.Store(-1)
		proxy := newProxy(t, f.srv.URL, func(w http.ResponseWriter, r *http.Request) bool {
			if strings.HasSuffix(r.URL.Path, "/pipeline") && strings.HasPrefix(r.URL.Path, "/api/v2/project/") && seen.Load() < 0 {
				time.Sleep(delay)
				seen.Store(beats.Load())
			}
			return false
		})
		f.conn.BaseURL = proxy.URL
		require.NoError(t, run(t, f.a.SyncPipelinePage, PageInput{Connection: f.conn, ProjectSlug: slug, PageNumber: 1},
			nil, countBeats(&beats)))
		require.Positive(t, seen.Load(), "no heartbeat while the page request waited")
	})

	t.Run("RefreshProject", func(t *testing.T) {
		f := newFixture(t, opts, openSQLite(t))
		var beats atomic.Int64
		slow := newSlowStore(f.a.Store, delay, &beats)
		f.a.Store = slow
		require.NoError(t, run(t, f.a.RefreshProject, RefreshInput{Connection: f.conn, ProjectSlug: firstProject(f),
			SyncedSince: at(1)}, nil, countBeats(&beats)))
		require.Positive(t, slow.seen.Load(), "no heartbeat while the first query ran")
	})

	t.Run("ResolveUsers", func(t *testing.T) {
		f := newFixture(t, opts, openSQLite(t))
		var beats atomic.Int64
		slow := newSlowStore(f.a.Store, delay, &beats)
		f.a.Store = slow
		require.NoError(t, run(t, f.a.ResolveUsers, ResolveUsersInput{Connection: f.conn, Projects: []string{firstProject(f)}},
			nil, countBeats(&beats)))
		require.Positive(t, slow.seen.Load(), "no heartbeat while the first query ran")
	})

	t.Run("DiscoverProjects", func(t *testing.T) {
		f := newFixture(t, opts, openSQLite(t))
		var beats atomic.Int64
		slow := newSlowStore(f.a.Store, delay, &beats)
		f.a.Store = slow
		require.NoError(t, run(t, f.a.DiscoverProjects, DiscoverInput{Connection: f.conn}, nil, countBeats(&beats)))
		require.Positive(t, slow.seen.Load(), "no heartbeat while the first query ran")
	})
}
