package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/store"
	"github.com/circleci-sync/circleci-sync/workflows"
)

func counts(pipelines, requests int64) activities.SyncCounts {
	return activities.SyncCounts{Entities: map[string]int64{store.KindPipeline: pipelines}, Requests: requests}
}

// The screen: the connection, a bar per running project with its rate and an
// estimate of what is left, the totals and the last error.
func TestWatchViewRenders(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	prev := workflows.ConnectionProgress{RunningProjects: []workflows.RunningProject{
		{ProjectSlug: "gh/acme/api", Counts: counts(10, 100)}}, Totals: counts(50, 400)}
	cur := workflows.ConnectionProgress{ConnectionID: "acme", OrgSlug: "gh/acme", Cycle: 1, Phase: "projects",
		Projects: workflows.ProjectCounts{Total: 3, Completed: 1},
		RunningProjects: []workflows.RunningProject{
			{ProjectSlug: "gh/acme/api", Phase: "pages", Counts: counts(20, 160)},
			{ProjectSlug: "gh/acme/web", Phase: "plan", Counts: counts(0, 2)}},
		Totals:    counts(60, 462),
		LastError: &workflows.ErrorNote{Where: "pages from 1", Error: "HTTP 500\nretried", At: t0}}
	v := watchView{started: t0.Add(-time.Minute), prev: watchSample{t0.Add(-2 * time.Second), prev},
		cur: watchSample{t0, cur}, now: t0}
	var b bytes.Buffer
	v.render(&b)
	want := `connection acme (gh/acme) · cycle 1 · phase projects · 1m elapsed
projects [########................] 1/3 done, 2 running, about 2m left

  gh/acme/api                      pages    [############............]    20 pipelines   30.0 req/s  ~20 pipelines left (projects average 40)
  gh/acme/web                      plan     [........................]     0 pipelines    1.0 req/s  ~40 pipelines left (projects average 40)

totals   60 pipelines · 0 workflows · 0 jobs · users after the projects · 462 requests (31.0/s)
last error (pages from 1, 2026-12-06T12:00:00Z): HTTP 500 retried
`
	assert.Equal(t, want, b.String())
}

// A failed project (ended at once, not found) says nothing of how long a
// project takes: no estimate until one completes. Users are named for what
// they are: fetched, already fresh.
func TestWatchViewEstimatesFromCompletedProjects(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	cur := workflows.ConnectionProgress{Cycle: 1, Phase: "users", Projects: workflows.ProjectCounts{Total: 3, Failed: 1},
		Totals: activities.SyncCounts{Entities: map[string]int64{store.KindUser: 3}},
		Users:  &activities.ResolveUsersResult{Referenced: 15, Fresh: 12}}
	v := watchView{started: t0.Add(-time.Minute), prev: watchSample{t0, cur}, cur: watchSample{t0, cur}, now: t0}
	var b bytes.Buffer
	v.render(&b)
	assert.Contains(t, b.String(), "1/3 done (1 failed), 0 running\n")
	assert.Contains(t, b.String(), "3 users fetched (12 already fresh)")
}
