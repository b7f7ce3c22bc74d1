package circleci

import (
	"testing"
	"time"
)

// Concurrent waits count once in Held, and add up in Wait.
func TestRequestStatsHeldIsWallTime(t *testing.T) {
	var s RequestStats
	start := time.Now()
	end1 := s.beginWait(start)
	end2 := s.beginWait(start)
	time.Sleep(50 * time.Millisecond)
	end1()
	end2()
	s.waitNanos.Add(int64(2 * time.Since(start)))
	if held, wait := s.Held(), s.Wait(); held < 40*time.Millisecond || held > wait*3/4 {
		t.Fatalf("held %s, wait %s: want held about half the summed wait", held, wait)
	}
	var none *RequestStats
	none.beginWait(start)() // nil-safe
}
