package activities

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/store"
)

// sent gathers what a liveReporter sends.
type sent struct {
	mu sync.Mutex
	ps []LiveProgress
}

func (s *sent) send(p LiveProgress) { s.mu.Lock(); s.ps = append(s.ps, p); s.mu.Unlock() }

func (s *sent) pipelines() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int64
	for _, p := range s.ps {
		out = append(out, p.Counts.Of(store.KindPipeline))
	}
	return out
}

func counted(n int64) LiveProgress {
	var c SyncCounts
	c.AddEntities(store.KindPipeline, n)
	return LiveProgress{Counts: c}
}

// The first update goes at once; those within the interval coalesce into one
// send of the latest, the interval after; nothing goes after stop.
func TestLiveReporterSendsTheLatestAtMostEveryInterval(t *testing.T) {
	s := &sent{}
	const every = 300 * time.Millisecond
	l := newLiveReporter(every, s.send)
	l.update(counted(1))
	require.Eventually(t, func() bool { return len(s.pipelines()) == 1 }, time.Second, 5*time.Millisecond)
	start := time.Now()
	l.update(counted(2))
	l.update(counted(3))
	require.Eventually(t, func() bool { return len(s.pipelines()) == 2 }, 2*time.Second, 5*time.Millisecond)
	require.GreaterOrEqual(t, time.Since(start), every/2, "the second send waits for the interval")
	require.Equal(t, []int64{1, 3}, s.pipelines(), "the latest figures, once")
	l.update(counted(4))
	l.stop()
	time.Sleep(2 * every)
	require.Equal(t, []int64{1, 3}, s.pipelines(), "no send after stop")
	l.update(counted(5))
	time.Sleep(every)
	require.Equal(t, []int64{1, 3}, s.pipelines())
}

// A nil reporter (no Report configured) takes updates and stops.
func TestLiveReporterNil(t *testing.T) {
	var l *liveReporter
	l.update(counted(1))
	l.stop()
}
