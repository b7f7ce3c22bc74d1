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

// Updates within a slot coalesce into one send of the latest, at the next
// slot's start; nothing goes after stop.
func TestLiveReporterSendsTheLatestAtMostEveryInterval(t *testing.T) {
	s := &sent{}
	const every = 300 * time.Millisecond
	l := newLiveReporter(every, s.send)
	l.update(counted(1))
	require.Eventually(t, func() bool { return len(s.pipelines()) == 1 }, time.Second, 5*time.Millisecond)
	first := time.Now().Truncate(every)
	l.update(counted(2))
	l.update(counted(3))
	require.Eventually(t, func() bool { return len(s.pipelines()) == 2 }, 2*time.Second, 5*time.Millisecond)
	require.True(t, time.Now().Truncate(every).After(first), "the second send waits for the next slot")
	require.Equal(t, []int64{1, 3}, s.pipelines(), "the latest figures, once")
	l.update(counted(4))
	l.stop()
	time.Sleep(2 * every)
	require.Equal(t, []int64{1, 3}, s.pipelines(), "no send after stop")
	l.update(counted(5))
	time.Sleep(every)
	require.Equal(t, []int64{1, 3}, s.pipelines())
}

// A send waits for the start of the next slot, whenever the update comes.
func TestLiveReporterWaitsForTheNextSlot(t *testing.T) {
	const every = 9 * time.Second
	l := newLiveReporter(every, nil)
	slot := time.Date(2026, 12, 6, 17, 0, 0, 0, time.UTC).Truncate(every)
	require.Equal(t, every, l.wait(slot), "a slot just begun: the next")
	require.Equal(t, 7*time.Second, l.wait(slot.Add(2*time.Second)))
	require.Equal(t, time.Millisecond, l.wait(slot.Add(every-time.Millisecond)))
}

// A nil reporter (no Report configured) takes updates and stops.
func TestLiveReporterNil(t *testing.T) {
	var l *liveReporter
	l.update(counted(1))
	l.stop()
}
