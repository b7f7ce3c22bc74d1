package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/internal/testenv"
)

// The conformance suite: every test runs against each backend (see helpers_test.go).

func TestRoundTripEveryField(t *testing.T) {
	ist := time.FixedZone("IST", 5*3600+1800)
	forEachBackend(t, func(t *testing.T, st Store) {
		now := time.Date(2024, 6, 1, 12, 0, 0, 0, ist)
		setClock(t, st, fixedClock(now))
		ctx := context.Background()

		batch := everyFieldBatch(ist)
		project, full := batch.Projects[0], batch.Pipelines[0]
		stats := write(t, st, batch)
		require.Equal(t, WriteStats{Written: 10}, stats)
		require.Equal(t, Counts{Entities: map[string]int64{KindProject: 1, KindPipeline: 3, KindWorkflow: 2, KindJob: 2, KindUser: 2}}, counts(t, st))

		stamp := now.UTC()
		requireRow(t, projectsTable, map[string]any{
			"slug": "gh/org/repo", "id": "id-gh/org/repo", "name": "repo", "organization_name": "org",
			"organization_slug": "gh/org", "organization_id": "org-id", "vcs_url": "https://github.com/org/repo",
			"vcs_provider": "GitHub", "default_branch": "main", "raw": string(project.Raw), "synced_at": stamp,
		}, readRow(t, st, projectsTable, "gh/org/repo"))

		requireRow(t, pipelinesTable, map[string]any{
			"id": "p-full", "project_slug": "gh/org/repo", "number": int64(7), "state": "errored",
			"created_at": at(0), "updated_at": at(1), "trigger_type": "api", "trigger_received_at": at(-1),
			"trigger_actor_login": "ann", "vcs_branch": "feature/x", "vcs_tag": "v1.0", "vcs_revision": "abc123",
			"vcs_provider": "GitHub", "vcs_commit_subject": "Fix 'it' ü",
			"errors": `[{"type":"config","message":"bad \"yaml\""}]`, "raw": string(full.Raw), "synced_at": stamp,
		}, readRow(t, st, pipelinesTable, "p-full"))
		requireRow(t, pipelinesTable, map[string]any{
			"updated_at": nil, "trigger_received_at": nil, "trigger_actor_login": "",
			"vcs_branch": "dev", "vcs_tag": "v2", "vcs_revision": "def456", "vcs_provider": nil,
			"vcs_commit_subject": nil, "errors": `[]`, "raw": `{}`,
		}, readRow(t, st, pipelinesTable, "p-params"))
		requireRow(t, pipelinesTable, map[string]any{
			"number": int64(0), "state": "pending", "created_at": nil, "updated_at": nil, "trigger_type": "",
			"vcs_branch": nil, "vcs_tag": nil, "vcs_revision": nil, "vcs_provider": "Bitbucket", "raw": nil,
		}, readRow(t, st, pipelinesTable, "p-bare"))

		requireRow(t, workflowsTable, map[string]any{
			"id": "w-full", "pipeline_id": "p-full", "pipeline_number": int64(7), "project_slug": "gh/org/repo",
			"name": "wf", "status": "canceled", "tag": "setup", "created_at": at(3), "stopped_at": at(4),
			"started_by": "u1", "canceled_by": "u2", "errored_by": "u3", "auto_rerun_number": int64(1),
			"max_auto_reruns": int64(3), "raw": `{"id":"w-full"}`, "synced_at": stamp,
		}, readRow(t, st, workflowsTable, "w-full"))
		requireRow(t, workflowsTable, map[string]any{
			"pipeline_number": int64(0), "name": "", "status": "running", "tag": nil, "created_at": nil,
			"stopped_at": nil, "started_by": nil, "canceled_by": nil, "errored_by": nil,
			"auto_rerun_number": nil, "max_auto_reruns": nil, "raw": nil,
		}, readRow(t, st, workflowsTable, "w-bare"))

		requireRow(t, jobsTable, map[string]any{
			"id": "j-full", "workflow_id": "w-full", "project_slug": "gh/org/repo", "job_number": int64(99),
			"name": "approve", "type": "approval", "status": "success", "started_at": at(5), "stopped_at": at(6),
			"approved_by": "u4", "canceled_by": "u5", "approval_request_id": "req-1",
			"dependencies": `["build","lint"]`, "requires": `{"build":["success"]}`, "raw": `{"id":"j-full"}`,
			"synced_at": stamp,
		}, readRow(t, st, jobsTable, "w-full", "j-full"))
		requireRow(t, jobsTable, map[string]any{
			"workflow_id": "w-bare", "project_slug": "", "job_number": nil, "type": "", "status": "blocked",
			"started_at": nil, "stopped_at": nil, "approved_by": nil, "canceled_by": nil,
			"approval_request_id": nil, "dependencies": `[]`, "requires": nil, "raw": nil,
		}, readRow(t, st, jobsTable, "w-bare", "j-bare"))

		requireRow(t, usersTable, map[string]any{
			"id": "u1", "login": "ann", "name": "Ann", "avatar_url": "https://a/ann.png", "raw": `{"id":"u1"}`,
			"fetched_at": stamp,
		}, readRow(t, st, usersTable, "u1"))
		requireRow(t, usersTable, map[string]any{
			"login": "", "name": "", "avatar_url": nil, "raw": nil,
		}, readRow(t, st, usersTable, "u2"))

		_, err := st.OpenItems(ctx, "gh/org/repo")
		require.NoError(t, err)
	})
}

// everyFieldBatch is TestRoundTripEveryField's batch: one entity of each kind
// with every field set (times in ist), and one with the fewest.
func everyFieldBatch(ist *time.Location) Batch {
	project := newProject("gh/org/repo")
	full := circleci.Pipeline{
		ID: "p-full", ProjectSlug: "gh/org/repo", Number: 7, State: circleci.PipelineStateErrored,
		Errors:    []circleci.PipelineError{{Type: "config", Message: "bad \"yaml\""}},
		CreatedAt: at(0).In(ist), UpdatedAt: ptr(at(1)),
		Trigger: circleci.Trigger{Type: "api", ReceivedAt: at(-1), Actor: circleci.Actor{Login: "ann", AvatarURL: ptr("a.png")}},
		VCS: &circleci.VCS{
			ProviderName: "GitHub", Revision: ptr("abc123"), Branch: ptr("feature/x"), Tag: ptr("v1.0"),
			Commit: &circleci.Commit{Subject: ptr("Fix 'it' ü"), Body: ptr("body")},
		},
		Raw: json.RawMessage(`{"id": "p-full",  "state": "errored", "extra": [1, 2.5, null, {"k": "ü"}]}`),
	}
	fromParams := circleci.Pipeline{
		ID: "p-params", ProjectSlug: "gh/org/repo", Number: 8, State: circleci.PipelineStateCreated,
		CreatedAt: at(2), Trigger: circleci.Trigger{Type: "webhook"},
		TriggerParameters: map[string]json.RawMessage{
			"git": json.RawMessage(`{"branch": "dev", "checkout_sha": "def456", "tag": "v2", "other": 1}`),
		},
		Raw: json.RawMessage(`{}`),
	}
	bare := circleci.Pipeline{ID: "p-bare", ProjectSlug: "gh/org/repo", State: circleci.PipelineStatePending,
		VCS: &circleci.VCS{ProviderName: "Bitbucket"}}
	wfFull := circleci.Workflow{
		ID: "w-full", PipelineID: "p-full", PipelineNumber: 7, ProjectSlug: "gh/org/repo", Name: "wf",
		Status: circleci.WorkflowStatusCanceled, StartedBy: ptr("u1"), CanceledBy: ptr("u2"), ErroredBy: ptr("u3"),
		Tag: ptr("setup"), CreatedAt: at(3), StoppedAt: ptr(at(4).In(ist)), AutoRerunNumber: ptr(int64(1)),
		MaxAutoReruns: ptr(int64(3)), Raw: json.RawMessage(`{"id":"w-full"}`),
	}
	wfBare := circleci.Workflow{ID: "w-bare", PipelineID: "p-bare", ProjectSlug: "gh/org/repo", Status: "running"}
	jobFull := circleci.Job{
		ID: "j-full", WorkflowID: "w-full", ProjectSlug: "gh/org/repo", JobNumber: ptr(int64(99)),
		Name: "approve", Type: circleci.JobTypeApproval, Status: circleci.JobStatusSuccess,
		StartedAt: ptr(at(5)), StoppedAt: ptr(at(6)), ApprovedBy: ptr("u4"), CanceledBy: ptr("u5"),
		ApprovalRequestID: ptr("req-1"), Dependencies: []string{"build", "lint"},
		Requires: map[string][]string{"build": {"success"}}, Raw: json.RawMessage(`{"id":"j-full"}`),
	}
	jobBare := circleci.Job{ID: "j-bare", WorkflowID: "w-bare", Status: circleci.JobStatusBlocked}
	userFull := circleci.User{ID: "u1", Login: "ann", Name: "Ann", AvatarURL: ptr("https://a/ann.png"), Raw: json.RawMessage(`{"id":"u1"}`)}
	userBare := circleci.User{ID: "u2"}
	return Batch{
		Projects:  []circleci.Project{project},
		Pipelines: []circleci.Pipeline{full, fromParams, bare},
		Workflows: []circleci.Workflow{wfFull, wfBare},
		Jobs:      []circleci.Job{jobFull, jobBare},
		Users:     []circleci.User{userFull, userBare},
	}
}

func TestWriteTwiceIsIdempotent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st Store) {
		b := Batch{
			Projects:  []circleci.Project{newProject("gh/o/r")},
			Pipelines: []circleci.Pipeline{newPipeline("p1", "gh/o/r", 1, at(0)), newPipeline("p2", "gh/o/r", 2, at(1))},
			Workflows: []circleci.Workflow{
				newWorkflow("w1", "p1", "gh/o/r", "success", ptr(at(2))),
				newWorkflow("w2", "p2", "gh/o/r", "running", nil),
			},
			Jobs:    []circleci.Job{newJob("j1", "w1", "gh/o/r", "success", ptr(at(2))), newJob("j2", "w2", "gh/o/r", "queued", nil)},
			Users:   []circleci.User{newUser("u1", "ann")},
			Skipped: []Skipped{{EntityRef: EntityRef{Kind: KindPipeline, ID: "p9"}, ProjectSlug: "gh/o/r", Reason: "expired", HTTPStatus: 404}},
		}
		require.Equal(t, WriteStats{Written: 9}, write(t, st, b))
		before := readRows(t, st, workflowsTable, "")
		setClock(t, st, fixedClock(time.Now().Add(time.Hour)))
		// Users and the ledger are always rewritten (fetched_at, last_seen); the rest
		// is identical and left alone.
		require.Equal(t, WriteStats{Written: 2, Unchanged: 7}, write(t, st, b))
		require.Equal(t, Counts{Entities: map[string]int64{KindProject: 1, KindPipeline: 2, KindWorkflow: 2, KindJob: 2, KindUser: 1}, Skipped: 1}, counts(t, st))
		require.ElementsMatch(t, before, readRows(t, st, workflowsTable, ""), "identical rows are not rewritten")
	})
}

func TestEmptyBatch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st Store) {
		require.Equal(t, WriteStats{}, write(t, st, Batch{}))
		require.Equal(t, Counts{}, counts(t, st))
	})
}

// guardStep is one write of a version-guard scenario and its expected outcome.
type guardStep struct {
	status  string
	stopped *time.Time
	name    string
	written bool
}

// guardSteps is the scenario for workflows and jobs, given a running status, two
// terminal ones and a non-terminal one of the entity's enum.
func guardSteps(running, success, failed, canceled, onHold string) []guardStep {
	return []guardStep{
		{running, nil, "a", true},
		{running, nil, "a", false},                    // identical
		{running, nil, "b", true},                     // newer non-terminal snapshot
		{success, ptr(at(20)), "c", true},             // becomes terminal
		{running, nil, "d", false},                    // terminal -> running: refused
		{onHold, ptr(at(30)), "d", false},             // terminal -> non-terminal, even stopped later
		{"brand_new_status", ptr(at(30)), "d", false}, // unknown statuses are not terminal
		{failed, ptr(at(10)), "e", false},             // earlier stopped_at: refused
		{failed, nil, "e", false},                     // null stopped_at over a set one: refused
		{success, ptr(at(20)), "f", true},             // same stopped_at, other data: accepted
		{canceled, ptr(at(25)), "g", true},            // newer terminal snapshot: accepted
		{success, ptr(at(20)), "h", false},            // older terminal snapshot: refused
		{canceled, ptr(at(25)), "g", false},           // identical
	}
}

// TestVersionGuard walks workflows and jobs through the same sequence of snapshots
// (guardSteps) and checks after each write which one the stored row holds.
func TestVersionGuard(t *testing.T) {
	kinds := []struct {
		name  string
		table *table
		key   []string
		steps []guardStep
		batch func(s guardStep) Batch
	}{
		{
			name: "workflows", table: workflowsTable, key: []string{"w1"},
			steps: guardSteps("running", "success", "failed", "canceled", "on_hold"),
			batch: func(s guardStep) Batch {
				w := newWorkflow("w1", "p1", "gh/o/r", s.status, s.stopped)
				w.Name = s.name
				return Batch{Workflows: []circleci.Workflow{w}}
			},
		},
		{
			name: "jobs", table: jobsTable, key: []string{"w1", "j1"},
			steps: guardSteps("running", "success", "failed", "canceled", "queued"),
			batch: func(s guardStep) Batch {
				j := newJob("j1", "w1", "gh/o/r", s.status, s.stopped)
				j.Name = s.name
				return Batch{Jobs: []circleci.Job{j}}
			},
		},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, st Store) {
				want := k.steps[0]
				for i, s := range k.steps {
					stats := write(t, st, k.batch(s))
					if s.written {
						want = s
						require.Equal(t, WriteStats{Written: 1}, stats, "step %d", i)
					} else {
						require.Equal(t, WriteStats{Unchanged: 1}, stats, "step %d", i)
					}
					var stopped any
					if want.stopped != nil {
						stopped = *want.stopped
					}
					requireRow(t, k.table, map[string]any{"status": want.status, "stopped_at": stopped, "name": want.name},
						readRow(t, st, k.table, k.key...))
				}
			})
		})
	}
}

func TestOlderSnapshotNeverOverwritesTerminal(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st Store) {
		older := newWorkflow("w1", "p1", "gh/o/r", "running", nil)
		newer := newWorkflow("w1", "p1", "gh/o/r", "failed", ptr(at(9)))
		olderJob := newJob("j1", "w1", "gh/o/r", "running", nil)
		newerJob := newJob("j1", "w1", "gh/o/r", "failed", ptr(at(9)))

		// A late retry of an older read, in a later batch.
		write(t, st, Batch{Workflows: []circleci.Workflow{newer}, Jobs: []circleci.Job{newerJob}})
		require.Equal(t, WriteStats{Unchanged: 2},
			write(t, st, Batch{Workflows: []circleci.Workflow{older}, Jobs: []circleci.Job{olderJob}}))
		// Both snapshots in one batch, in either order.
		write(t, st, Batch{Workflows: []circleci.Workflow{newer, older}, Jobs: []circleci.Job{olderJob, newerJob, olderJob}})

		requireRow(t, workflowsTable, map[string]any{"status": "failed", "stopped_at": at(9)}, readRow(t, st, workflowsTable, "w1"))
		requireRow(t, jobsTable, map[string]any{"status": "failed", "stopped_at": at(9)}, readRow(t, st, jobsTable, "w1", "j1"))
		require.Equal(t, Counts{Entities: map[string]int64{KindWorkflow: 1, KindJob: 1}}, counts(t, st))
	})
}

func TestDuplicatesInOneBatchApplyInOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st Store) {
		a := newWorkflow("w1", "p1", "gh/o/r", "running", nil)
		b := newWorkflow("w1", "p1", "gh/o/r", "on_hold", nil)
		c := newWorkflow("w1", "p1", "gh/o/r", "success", ptr(at(5)))
		stats := write(t, st, Batch{Workflows: []circleci.Workflow{a, b, a, c, a}})
		require.Equal(t, WriteStats{Written: 4, Unchanged: 1}, stats)
		requireRow(t, workflowsTable, map[string]any{"status": "success"}, readRow(t, st, workflowsTable, "w1"))
	})
}

func TestVersionGuardPipelines(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st Store) {
		p := func(state string, updated *time.Time) circleci.Pipeline {
			x := newPipeline("p1", "gh/o/r", 1, at(0))
			x.State, x.UpdatedAt = state, updated
			return x
		}
		steps := []struct {
			state   string
			updated *time.Time
			written bool
		}{
			{"setup", nil, true},
			{"pending", nil, true}, // no updated_at stored yet: last write wins
			{"created", ptr(at(10)), true},
			{"pending", ptr(at(5)), false},  // earlier updated_at: refused
			{"pending", nil, false},         // null over a set updated_at: refused
			{"errored", ptr(at(10)), true},  // same updated_at, other data
			{"created", ptr(at(11)), true},  // later
			{"created", ptr(at(11)), false}, // identical
		}
		want := steps[0]
		for i, s := range steps {
			stats := write(t, st, Batch{Pipelines: []circleci.Pipeline{p(s.state, s.updated)}})
			if s.written {
				want = s
				require.Equal(t, WriteStats{Written: 1}, stats, "step %d", i)
			} else {
				require.Equal(t, WriteStats{Unchanged: 1}, stats, "step %d", i)
			}
			var updated any
			if want.updated != nil {
				updated = *want.updated
			}
			requireRow(t, pipelinesTable, map[string]any{"state": want.state, "updated_at": updated},
				readRow(t, st, pipelinesTable, "p1"))
		}
	})
}

// TestVersionGuardPipelineStates: a pipeline whose stored state is final (created,
// errored) is never overwritten by a snapshot in an open state (setup-pending, setup,
// pending) or an unknown one, whatever its updated_at. An unknown stored state is not
// final: anything may replace it.
func TestVersionGuardPipelineStates(t *testing.T) {
	type step struct {
		state   string
		updated *time.Time
		written bool
	}
	cases := map[string][]step{
		"created is not reopened": {
			{"created", ptr(at(10)), true},
			{"pending", ptr(at(10)), false}, // same updated_at: refused
			{"setup", ptr(at(11)), false},   // even updated later
			{"setup-pending", ptr(at(12)), false},
			{"brand-new-state", ptr(at(12)), false}, // unknown states are not final
			{"created", ptr(at(12)), true},
		},
		"pending becomes created": {
			{"setup-pending", ptr(at(9)), true},
			{"setup", ptr(at(9)), true},
			{"pending", ptr(at(10)), true},
			{"created", ptr(at(10)), true}, // same updated_at: accepted
			{"pending", ptr(at(10)), false},
		},
		"errored stays errored": {
			{"pending", nil, true},
			{"errored", ptr(at(10)), true},
			{"pending", ptr(at(10)), false},
			{"setup", ptr(at(20)), false},
			{"setup-pending", ptr(at(20)), false},
			{"", ptr(at(20)), false},
			{"brand-new-state", ptr(at(20)), false},
			{"errored", ptr(at(10)), false}, // identical
		},
		"final to final": {
			{"created", ptr(at(10)), true},
			{"errored", ptr(at(10)), true},
			{"created", ptr(at(9)), false}, // the updated_at guard still holds
		},
		"unknown is not final": {
			{"brand-new-state", ptr(at(10)), true},
			{"pending", ptr(at(10)), true},
			{"brand-new-state", ptr(at(11)), true},
			{"created", ptr(at(11)), true},
		},
	}
	forEachBackend(t, func(t *testing.T, st Store) {
		for name, steps := range cases {
			id := "p-" + name
			p := func(s step) circleci.Pipeline {
				x := newPipeline(id, "gh/o/r", 1, at(0))
				x.State, x.UpdatedAt = s.state, s.updated
				return x
			}
			want := steps[0]
			for i, s := range steps {
				stats := write(t, st, Batch{Pipelines: []circleci.Pipeline{p(s)}})
				if s.written {
					want = s
					require.Equal(t, WriteStats{Written: 1}, stats, "%s: step %d", name, i)
				} else {
					require.Equal(t, WriteStats{Unchanged: 1}, stats, "%s: step %d", name, i)
				}
				var updated any
				if want.updated != nil {
					updated = *want.updated
				}
				requireRow(t, pipelinesTable, map[string]any{"state": want.state, "updated_at": updated},
					readRow(t, st, pipelinesTable, id))
			}
		}

		// Both snapshots in one batch, in either order: the final one stays.
		created := newPipeline("p-batch", "gh/o/r", 1, at(0))
		pending := created
		pending.State = circleci.PipelineStatePending
		require.Equal(t, WriteStats{Written: 1, Unchanged: 1},
			write(t, st, Batch{Pipelines: []circleci.Pipeline{created, pending}}))
		requireRow(t, pipelinesTable, map[string]any{"state": "created"}, readRow(t, st, pipelinesTable, "p-batch"))
		require.Equal(t, WriteStats{Unchanged: 2},
			write(t, st, Batch{Pipelines: []circleci.Pipeline{pending, created}}))
		requireRow(t, pipelinesTable, map[string]any{"state": "created"}, readRow(t, st, pipelinesTable, "p-batch"))

		// A final pipeline is not open, whatever was written after it.
		open, err := st.OpenItems(context.Background(), "gh/o/r")
		require.NoError(t, err)
		require.NotContains(t, open.PipelineIDs, "p-created is not reopened")
		require.NotContains(t, open.PipelineIDs, "p-errored stays errored")
		require.NotContains(t, open.PipelineIDs, "p-batch")
	})
}

func TestProjectsAndUsersLastWriteWins(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st Store) {
		setClock(t, st, fixedClock(at(0)))
		write(t, st, Batch{Projects: []circleci.Project{newProject("gh/o/r")}, Users: []circleci.User{newUser("u1", "ann")}})
		p := newProject("gh/o/r")
		p.Name = "renamed"
		u := newUser("u1", "ann2")
		setClock(t, st, fixedClock(at(1)))
		require.Equal(t, WriteStats{Written: 2}, write(t, st, Batch{Projects: []circleci.Project{p}, Users: []circleci.User{u}}))
		requireRow(t, projectsTable, map[string]any{"name": "renamed", "synced_at": at(1)}, readRow(t, st, projectsTable, "gh/o/r"))
		requireRow(t, usersTable, map[string]any{"login": "ann2", "fetched_at": at(1)}, readRow(t, st, usersTable, "u1"))
	})
}

func TestSkippedLedger(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		t1 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("X", -7*3600))
		t2 := t1.Add(time.Hour)
		ref := func(kind, id string) EntityRef { return EntityRef{Kind: kind, ID: id} }

		setClock(t, st, fixedClock(t1))
		write(t, st, Batch{Skipped: []Skipped{
			{EntityRef: ref(KindWorkflow, "w1"), ProjectSlug: "gh/o/r", Reason: "server_error", HTTPStatus: 500, Message: "boom"},
			{EntityRef: ref(KindPipeline, "p1"), ProjectSlug: "gh/o/r", Reason: "expired", HTTPStatus: 404},
			{EntityRef: ref(KindUser, "u1"), Reason: "not_found", FirstSeen: t2, LastSeen: t2},
		}})
		setClock(t, st, fixedClock(t2))
		stats := write(t, st, Batch{
			Skipped: []Skipped{{EntityRef: ref(KindWorkflow, "w1"), ProjectSlug: "gh/o/r", Reason: "not_found", Message: "gone"}},
			// One resolved entry exists, one never did.
			Resolved: []EntityRef{ref(KindPipeline, "p1"), ref(KindJob, "nope")},
		})
		require.Equal(t, WriteStats{Written: 2, Unchanged: 1}, stats)

		got, err := st.Skipped(ctx)
		require.NoError(t, err)
		require.Equal(t, []Skipped{
			{EntityRef: ref(KindUser, "u1"), Reason: "not_found", FirstSeen: t1.UTC(), LastSeen: t1.UTC()},
			{EntityRef: ref(KindWorkflow, "w1"), ProjectSlug: "gh/o/r", Reason: "not_found", Message: "gone",
				FirstSeen: t1.UTC(), LastSeen: t2.UTC()},
		}, got)
		require.Equal(t, time.UTC, got[0].FirstSeen.Location())
		require.Equal(t, int64(2), counts(t, st).Skipped)

		// Skipped and resolved in one batch: resolved wins.
		write(t, st, Batch{
			Skipped:  []Skipped{{EntityRef: ref(KindJob, "j1"), Reason: "x"}},
			Resolved: []EntityRef{ref(KindJob, "j1"), ref(KindUser, "u1"), ref(KindUser, "u1")},
		})
		got, err = st.Skipped(ctx)
		require.NoError(t, err)
		require.Len(t, got, 1)
		require.Equal(t, "w1", got[0].ID)
	})
}

func TestInvalidItemWritesNothing(t *testing.T) {
	valid := Batch{
		Projects:  []circleci.Project{newProject("gh/o/r")},
		Pipelines: []circleci.Pipeline{newPipeline("p1", "gh/o/r", 1, at(0))},
		Workflows: []circleci.Workflow{newWorkflow("w1", "p1", "gh/o/r", "running", nil)},
		Jobs:      []circleci.Job{newJob("j1", "w1", "gh/o/r", "running", nil)},
		Users:     []circleci.User{newUser("u1", "ann")},
		Skipped:   []Skipped{{EntityRef: EntityRef{Kind: KindJob, ID: "j9"}, Reason: "expired"}},
	}
	cases := map[string]struct {
		mutate func(b *Batch)
		msg    string
	}{
		"job without workflow id": {func(b *Batch) { b.Jobs = append(b.Jobs, newJob("j2", "", "gh/o/r", "running", nil)) }, `Jobs[1]: job "j2": empty WorkflowID`},
		"job without id":          {func(b *Batch) { b.Jobs = append(b.Jobs, newJob("", "w1", "gh/o/r", "running", nil)) }, "Jobs[1]"},
		"pipeline without id":     {func(b *Batch) { b.Pipelines = append(b.Pipelines, circleci.Pipeline{}) }, "Pipelines[1]"},
		"workflow without id":     {func(b *Batch) { b.Workflows = append(b.Workflows, circleci.Workflow{Status: "x"}) }, "Workflows[1]"},
		"user without id":         {func(b *Batch) { b.Users = append(b.Users, circleci.User{Login: "x"}) }, "Users[1]"},
		"project without slug":    {func(b *Batch) { b.Projects = append(b.Projects, circleci.Project{ID: "x"}) }, "Projects[1]"},
		"skipped without id":      {func(b *Batch) { b.Skipped = append(b.Skipped, Skipped{EntityRef: EntityRef{Kind: KindJob}}) }, "Skipped[1]"},
		"resolved without kind":   {func(b *Batch) { b.Resolved = append(b.Resolved, EntityRef{ID: "x"}) }, "Resolved[0]"},
		"raw not JSON":            {func(b *Batch) { b.Workflows[0].Raw = json.RawMessage(`{"a":`) }, "raw is not valid JSON"},
		"year 10000":              {func(b *Batch) { b.Jobs[0].StoppedAt = ptr(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)) }, "year outside 1-9999"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, st Store) {
				b := valid
				b.Projects = append([]circleci.Project(nil), valid.Projects...)
				b.Pipelines = append([]circleci.Pipeline(nil), valid.Pipelines...)
				b.Workflows = append([]circleci.Workflow(nil), valid.Workflows...)
				b.Jobs = append([]circleci.Job(nil), valid.Jobs...)
				b.Users = append([]circleci.User(nil), valid.Users...)
				b.Skipped = append([]Skipped(nil), valid.Skipped...)
				c.mutate(&b)
				stats, err := st.WriteBatch(context.Background(), b)
				require.ErrorIs(t, err, ErrInvalidItem)
				require.ErrorContains(t, err, c.msg)
				require.Equal(t, WriteStats{}, stats)
				require.Equal(t, Counts{}, counts(t, st))
			})
		})
	}
}

func TestCanceledContextWritesNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st Store) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := st.WriteBatch(ctx, Batch{Pipelines: []circleci.Pipeline{newPipeline("p1", "gh/o/r", 1, at(0))}})
		require.Error(t, err)
		require.Equal(t, Counts{}, counts(t, st))
	})
}

// oddSlugs are project slugs that break string-built SQL or LIKE patterns.
var oddSlugs = []string{
	"gh/o%rg/re po",
	"circleci/ü/'; DROP TABLE x;--",
	"gh/o_rg/re\\po",
	`bb/"quoted"/😀`,
	"gh/org/repo",
}

func TestOddSlugsAndIDs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		var b Batch
		for i, slug := range oddSlugs {
			id := func(kind string) string { return fmt.Sprintf("%s-%s-%d", kind, slug, i) }
			b.Projects = append(b.Projects, newProject(slug))
			b.Pipelines = append(b.Pipelines, newPipeline(id("p"), slug, int64(i), at(i)))
			w := newWorkflow(id("w"), id("p"), slug, "running", nil)
			w.StartedBy = ptr(id("user"))
			b.Workflows = append(b.Workflows, w)
			b.Jobs = append(b.Jobs, newJob(id("j"), id("w"), slug, "success", ptr(at(i))))
			b.Users = append(b.Users, newUser(id("user"), slug))
			b.Skipped = append(b.Skipped, Skipped{EntityRef: EntityRef{Kind: KindJob, ID: id("skipped")}, ProjectSlug: slug})
		}
		write(t, st, b)
		n := int64(len(oddSlugs))
		require.Equal(t, Counts{Entities: map[string]int64{KindProject: n, KindPipeline: n, KindWorkflow: n, KindJob: n, KindUser: n}, Skipped: n}, counts(t, st))

		for i, slug := range oddSlugs {
			id := func(kind string) string { return fmt.Sprintf("%s-%s-%d", kind, slug, i) }
			ids, err := st.PipelinesCreatedSince(ctx, slug, time.Time{})
			require.NoError(t, err)
			require.Equal(t, []string{id("p")}, ids, slug)
			open, err := st.OpenItems(ctx, slug)
			require.NoError(t, err)
			require.Equal(t, OpenItems{PipelineIDs: []string{id("p")}, WorkflowIDs: []string{id("w")}}, open, slug)
			refs, err := st.UserRefs(ctx, []string{slug})
			require.NoError(t, err)
			require.Equal(t, []string{id("user")}, refs, slug)
			fetched, err := st.UsersFetchedSince(ctx, []string{id("user"), id("nobody")}, time.Time{})
			require.NoError(t, err)
			require.Equal(t, map[string]bool{id("user"): true}, fetched)
			require.NotNil(t, readRow(t, st, projectsTable, slug))

			state := ProjectState{ConnectionID: "conn '%", ProjectSlug: slug, Watermark: at(i), LastRun: map[string]int64{slug: 1}}
			require.NoError(t, st.SaveProjectState(ctx, state))
			got, err := st.ProjectState(ctx, "conn '%", slug)
			require.NoError(t, err)
			require.Equal(t, state, got)
		}
		refs, err := st.UserRefs(ctx, oddSlugs)
		require.NoError(t, err)
		require.Len(t, refs, len(oddSlugs))

		var resolved []EntityRef
		for _, s := range b.Skipped {
			resolved = append(resolved, s.EntityRef)
		}
		require.Equal(t, WriteStats{Written: len(resolved)}, write(t, st, Batch{Resolved: resolved}))
		require.Zero(t, counts(t, st).Skipped)
	})
}

func TestUnstorableStrings(t *testing.T) {
	// PostgreSQL cannot store NUL, invalid UTF-8 or some JSON escapes exactly; a batch
	// carrying them must still be written (as the closest storable strings).
	forEachBackend(t, func(t *testing.T, st Store) {
		w := newWorkflow("w\x00nul", "p1", "gh/o/r", "running", nil)
		w.Name = "bad \xff utf8 and nul \x00"
		w.Raw = json.RawMessage(`{"a":"\u0000","b":"\ud800","c":"\udc00x","d":"\ud83d\ude00","e":"\\u0000","f":"` + "\xfe" + `"}`)
		p := newPipeline("p1", "gh/o/r", 1, at(0))
		p.Errors = []circleci.PipelineError{{Message: "nul \x00"}}
		write(t, st, Batch{Workflows: []circleci.Workflow{w}, Pipelines: []circleci.Pipeline{p}})
		require.Equal(t, Counts{Entities: map[string]int64{KindWorkflow: 1, KindPipeline: 1}}, counts(t, st))
		// Rewriting is still recognised as identical.
		require.Equal(t, WriteStats{Unchanged: 2}, write(t, st, Batch{Workflows: []circleci.Workflow{w}, Pipelines: []circleci.Pipeline{p}}))
		open, err := st.OpenItems(context.Background(), "gh/o/r")
		require.NoError(t, err)
		require.Len(t, open.WorkflowIDs, 1)

		// Ids PostgreSQL stores alike ("w" and "w\x00") in one batch: still no error.
		a, b := newWorkflow("w", "p1", "gh/o/r", "running", nil), newWorkflow("w\x00", "p1", "gh/o/r", "success", ptr(at(1)))
		stats := write(t, st, Batch{Workflows: []circleci.Workflow{a, b}})
		require.Equal(t, 2, stats.Written+stats.Unchanged)
	})
}

func TestTimesAreUTC(t *testing.T) {
	ny := time.FixedZone("EST", -5*3600)
	forEachBackend(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		local := time.Date(2024, 3, 10, 1, 30, 0, 987654321, ny) // sub-microsecond part is dropped
		want := local.UTC().Truncate(time.Microsecond)
		setClock(t, st, fixedClock(local))
		p := newPipeline("p1", "gh/o/r", 1, local)
		w := newWorkflow("w1", "p1", "gh/o/r", "success", ptr(local))
		write(t, st, Batch{Pipelines: []circleci.Pipeline{p}, Workflows: []circleci.Workflow{w}})
		requireRow(t, pipelinesTable, map[string]any{"created_at": want, "synced_at": want}, readRow(t, st, pipelinesTable, "p1"))
		requireRow(t, workflowsTable, map[string]any{"stopped_at": want}, readRow(t, st, workflowsTable, "w1"))

		require.NoError(t, st.SaveProjectState(ctx, ProjectState{ConnectionID: "c", ProjectSlug: "gh/o/r", Watermark: local, LastRunAt: local}))
		ps, err := st.ProjectState(ctx, "c", "gh/o/r")
		require.NoError(t, err)
		require.Equal(t, want, ps.Watermark)
		require.Equal(t, time.UTC, ps.Watermark.Location())
		require.Equal(t, time.UTC, ps.LastRunAt.Location())

		// Queries take times in any zone.
		ids, err := st.PipelinesCreatedSince(ctx, "gh/o/r", want.In(ny))
		require.NoError(t, err)
		require.Equal(t, []string{"p1"}, ids)
		ids, err = st.PipelinesCreatedSince(ctx, "gh/o/r", want.Add(time.Nanosecond))
		require.NoError(t, err)
		require.Empty(t, ids)
	})
}

func TestOpenItems(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st Store) {
		const a, other = "gh/o/a", "gh/o/other"
		done := ptr(at(5))
		pipe := func(id, slug, state string) circleci.Pipeline {
			p := newPipeline(id, slug, 1, at(0))
			p.State = state
			return p
		}
		write(t, st, Batch{
			Pipelines: []circleci.Pipeline{
				pipe("p1-done", a, "created"),
				pipe("p2-running-wf", a, "created"),
				pipe("p3-setup", a, "setup"),
				pipe("p4-open-job", a, "created"),
				pipe("p5-unknown-wf", a, "created"),
				pipe("p6-other", other, "pending"),
				pipe("p7-pending", a, "pending"),
				pipe("p8-setup-pending", a, "setup-pending"),
				pipe("p9-errored", a, "errored"),
				pipe("pa-unknown-state", a, "some_new_state"),
			},
			Workflows: []circleci.Workflow{
				newWorkflow("w1", "p1-done", a, "success", done),
				newWorkflow("w2", "p2-running-wf", a, "running", nil),
				newWorkflow("w2b", "p2-running-wf", a, "failed", done),
				newWorkflow("w4", "p4-open-job", a, "failed", done),
				newWorkflow("w5", "p5-unknown-wf", a, "something_new", nil),
				newWorkflow("w6", "p6-other", other, "running", nil),
				newWorkflow("w7", "p1-done", a, "on_hold", nil),
			},
			Jobs: []circleci.Job{
				newJob("j1", "w1", a, "success", done),
				newJob("j4a", "w4", a, "failed", done),
				newJob("j4b", "w4", a, "blocked", nil),
				newJob("j6", "w6", other, "running", nil),
			},
		})
		got, err := st.OpenItems(context.Background(), a)
		require.NoError(t, err)
		require.Equal(t, OpenItems{
			PipelineIDs: []string{"p1-done", "p2-running-wf", "p3-setup", "p5-unknown-wf", "p7-pending", "p8-setup-pending", "pa-unknown-state"},
			// w4 is failed with a blocked job: terminal, so not open.
			WorkflowIDs: []string{"w2", "w5", "w7"},
		}, got)

		got, err = st.OpenItems(context.Background(), "gh/o/none")
		require.NoError(t, err)
		require.Empty(t, got.PipelineIDs)
		require.Empty(t, got.WorkflowIDs)
	})
}

func TestPipelinesCreatedSince(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		write(t, st, Batch{Pipelines: []circleci.Pipeline{
			newPipeline("p2", "gh/o/r", 2, at(2)),
			newPipeline("p1", "gh/o/r", 1, at(1)),
			newPipeline("p3", "gh/o/r", 3, at(3)),
			newPipeline("p3b", "gh/o/r", 4, at(3)), // same created_at: higher number first
			newPipeline("x9", "gh/o/other", 9, at(9)),
			{ID: "no-created-at", ProjectSlug: "gh/o/r"},
		}})
		for _, c := range []struct {
			since time.Time
			want  []string
		}{
			{time.Time{}, []string{"p3b", "p3", "p2", "p1"}},
			{at(2), []string{"p3b", "p3", "p2"}},
			{at(2).Add(-time.Nanosecond), []string{"p3b", "p3", "p2"}},
			{at(2).Add(time.Nanosecond), []string{"p3b", "p3"}},
			{at(4), nil},
		} {
			got, err := st.PipelinesCreatedSince(ctx, "gh/o/r", c.since)
			require.NoError(t, err)
			if c.want == nil {
				require.Empty(t, got)
			} else {
				require.Equal(t, c.want, got, "since %s", c.since)
			}
		}
	})
}

func TestNewestPipelines(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		got, err := st.NewestPipelines(ctx)
		require.NoError(t, err)
		require.Empty(t, got)

		ist := time.FixedZone("IST", 5*3600+1800)
		write(t, st, Batch{Pipelines: []circleci.Pipeline{
			newPipeline("a1", "gh/o/a", 1, at(1)),
			newPipeline("a3", "gh/o/a", 3, at(3).In(ist)),
			newPipeline("a2", "gh/o/a", 2, at(2)),
			newPipeline("b1", "gh/o/b", 1, at(-5)),
			{ID: "b-no-created-at", ProjectSlug: "gh/o/b"},
			{ID: "c-no-created-at", ProjectSlug: "gh/o/c"},
		}})
		got, err = st.NewestPipelines(ctx)
		require.NoError(t, err)
		require.Equal(t, map[string]time.Time{"gh/o/a": at(3), "gh/o/b": at(-5)}, got)
		for _, v := range got {
			require.Equal(t, time.UTC, v.Location())
		}

		// A newer pipeline moves its project's newest time; an older one does not.
		write(t, st, Batch{Pipelines: []circleci.Pipeline{
			newPipeline("b2", "gh/o/b", 2, at(7)),
			newPipeline("a0", "gh/o/a", 0, at(0)),
		}})
		got, err = st.NewestPipelines(ctx)
		require.NoError(t, err)
		require.Equal(t, map[string]time.Time{"gh/o/a": at(3), "gh/o/b": at(7)}, got)
	})
}

func TestUsersFetchedSince(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		setClock(t, st, fixedClock(at(1)))
		write(t, st, Batch{Users: []circleci.User{newUser("u1", "a"), newUser("u2", "b")}})
		setClock(t, st, fixedClock(at(2)))
		write(t, st, Batch{Users: []circleci.User{newUser("u2", "b"), newUser("u3", "c")}})

		got, err := st.UsersFetchedSince(ctx, []string{"u1", "u2", "u3", "u4", "u2"}, at(2))
		require.NoError(t, err)
		require.Equal(t, map[string]bool{"u2": true, "u3": true}, got)
		got, err = st.UsersFetchedSince(ctx, []string{"u1", "u2", "u4"}, at(1))
		require.NoError(t, err)
		require.Equal(t, map[string]bool{"u1": true, "u2": true}, got)
		got, err = st.UsersFetchedSince(ctx, nil, time.Time{})
		require.NoError(t, err)
		require.Empty(t, got)

		// Many ids (more than one SQLite statement binds).
		many := make([]string, 2*listChunk+3)
		for i := range many {
			many[i] = fmt.Sprintf("x%d", i)
		}
		many[len(many)-1] = "u3"
		got, err = st.UsersFetchedSince(ctx, many, time.Time{})
		require.NoError(t, err)
		require.Equal(t, map[string]bool{"u3": true}, got)
	})
}

func TestWorkflowStatuses(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		write(t, st, Batch{Workflows: []circleci.Workflow{
			newWorkflow("w1", "p1", "gh/o/a", "running", nil),
			newWorkflow("w2", "p1", "gh/o/a", "success", ptr(at(1))),
			newWorkflow("w3", "p2", "gh/o/b", "something_new", nil),
		}})
		got, err := st.WorkflowStatuses(ctx, []string{"w1", "w2", "w3", "w4", "w2"})
		require.NoError(t, err)
		require.Equal(t, map[string]string{"w1": "running", "w2": "success", "w3": "something_new"}, got)
		got, err = st.WorkflowStatuses(ctx, nil)
		require.NoError(t, err)
		require.Empty(t, got)

		// A later write changes the status.
		write(t, st, Batch{Workflows: []circleci.Workflow{newWorkflow("w1", "p1", "gh/o/a", "failed", ptr(at(2)))}})
		got, err = st.WorkflowStatuses(ctx, []string{"w1"})
		require.NoError(t, err)
		require.Equal(t, map[string]string{"w1": "failed"}, got)

		// Many ids (more than one SQLite statement binds).
		many := make([]string, 2*listChunk+3)
		for i := range many {
			many[i] = fmt.Sprintf("x%d", i)
		}
		many[len(many)-1] = "w2"
		got, err = st.WorkflowStatuses(ctx, many)
		require.NoError(t, err)
		require.Equal(t, map[string]string{"w2": "success"}, got)
	})
}

func TestUserRefs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		w1 := newWorkflow("w1", "p1", "gh/o/a", "canceled", ptr(at(1)))
		w1.StartedBy, w1.CanceledBy, w1.ErroredBy = ptr("zed"), ptr("bob"), nil
		w2 := newWorkflow("w2", "p1", "gh/o/a", "error", ptr(at(1)))
		w2.StartedBy, w2.ErroredBy = nil, ptr("eve")
		w3 := newWorkflow("w3", "p3", "gh/o/b", "running", nil)
		w3.StartedBy = ptr("other")
		j1 := newJob("j1", "w1", "gh/o/a", "success", ptr(at(1)))
		j1.ApprovedBy, j1.CanceledBy = ptr("amy"), ptr("zed")
		j2 := newJob("j2", "w1", "gh/o/a", "canceled", ptr(at(1)))
		j2.CanceledBy = ptr("")
		j3 := newJob("j3", "w3", "gh/o/b", "success", ptr(at(1)))
		j3.ApprovedBy = ptr("b-approver")
		write(t, st, Batch{Workflows: []circleci.Workflow{w1, w2, w3}, Jobs: []circleci.Job{j1, j2, j3}})

		got, err := st.UserRefs(ctx, []string{"gh/o/a"})
		require.NoError(t, err)
		require.Equal(t, []string{"amy", "bob", "eve", "zed"}, got)
		got, err = st.UserRefs(ctx, []string{"gh/o/a", "gh/o/b", "gh/o/none"})
		require.NoError(t, err)
		require.Equal(t, []string{"amy", "b-approver", "bob", "eve", "other", "zed"}, got)
		got, err = st.UserRefs(ctx, nil)
		require.NoError(t, err)
		require.Empty(t, got)
	})
}

func TestSyncState(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		ps, err := st.ProjectState(ctx, "c1", "gh/o/r")
		require.NoError(t, err)
		require.Equal(t, ProjectState{ConnectionID: "c1", ProjectSlug: "gh/o/r"}, ps)
		cs, err := st.ConnectionState(ctx, "c1")
		require.NoError(t, err)
		require.Equal(t, ConnectionState{ConnectionID: "c1"}, cs)
		none, err := st.ConnectionStates(ctx)
		require.NoError(t, err)
		require.Empty(t, none)

		full := ProjectState{ConnectionID: "c1", ProjectSlug: "gh/o/r", Watermark: at(1), LastRunAt: at(2),
			LastRun: map[string]int64{"pipelines": 20, "jobs": 400, "big": 1 << 53}}
		require.NoError(t, st.SaveProjectState(ctx, full))
		ps, err = st.ProjectState(ctx, "c1", "gh/o/r")
		require.NoError(t, err)
		require.Equal(t, full, ps)
		other, err := st.ProjectState(ctx, "c2", "gh/o/r")
		require.NoError(t, err)
		require.Equal(t, ProjectState{ConnectionID: "c2", ProjectSlug: "gh/o/r"}, other)

		replaced := ProjectState{ConnectionID: "c1", ProjectSlug: "gh/o/r", LastRun: map[string]int64{}}
		require.NoError(t, st.SaveProjectState(ctx, replaced))
		ps, err = st.ProjectState(ctx, "c1", "gh/o/r")
		require.NoError(t, err)
		require.Equal(t, replaced, ps)

		conn := ConnectionState{ConnectionID: "c1", OrgSlug: "gh/o", BaseURL: "https://circleci.com",
			Projects: []string{"gh/o/r", "gh/o/%"}, LastRunAt: at(3), LastRun: map[string]int64{"projects": 2},
			VerifiedAt: at(4), DiscoveredAt: at(5), DiscoveryWatermark: at(6), FollowedAt: at(7)}
		require.NoError(t, st.SaveConnectionState(ctx, conn))
		cs, err = st.ConnectionState(ctx, "c1")
		require.NoError(t, err)
		require.Equal(t, conn, cs)
		conn2 := ConnectionState{ConnectionID: "c1", OrgSlug: "gh/o2"}
		require.NoError(t, st.SaveConnectionState(ctx, conn2))
		cs, err = st.ConnectionState(ctx, "c1")
		require.NoError(t, err)
		require.Equal(t, conn2, cs)

		// ConnectionStates lists every connection, by id.
		conn3 := ConnectionState{ConnectionID: "a0", OrgSlug: "gh/a", LastRunAt: at(9), Projects: []string{"gh/a/x"}}
		require.NoError(t, st.SaveConnectionState(ctx, conn3))
		all, err := st.ConnectionStates(ctx)
		require.NoError(t, err)
		require.Equal(t, []ConnectionState{conn3, conn2}, all)

		require.ErrorIs(t, st.SaveProjectState(ctx, ProjectState{ProjectSlug: "x"}), ErrInvalidItem)
		require.ErrorIs(t, st.SaveProjectState(ctx, ProjectState{ConnectionID: "x"}), ErrInvalidItem)
		require.ErrorIs(t, st.SaveConnectionState(ctx, ConnectionState{}), ErrInvalidItem)
	})
}

func TestConcurrentWriteBatch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st Store) {
		const goroutines, batches = 8, 6
		var wg sync.WaitGroup
		var mu sync.Mutex
		var total WriteStats
		rows := 0
		errs := make(chan error, goroutines*batches)
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range batches {
					var b Batch
					b.Projects = []circleci.Project{newProject("gh/o/shared")}
					b.Users = []circleci.User{newUser("shared-user", "s"), newUser(fmt.Sprintf("u-%d", g), "u")}
					for p := range 3 {
						pid := fmt.Sprintf("p-%d-%d-%d", g, i, p)
						b.Pipelines = append(b.Pipelines, newPipeline(pid, "gh/o/shared", int64(p), at(p)))
						for w := range 2 {
							wid := fmt.Sprintf("%s-w%d", pid, w)
							b.Workflows = append(b.Workflows, newWorkflow(wid, pid, "gh/o/shared", "running", nil))
							for j := range 5 {
								b.Jobs = append(b.Jobs, newJob(fmt.Sprintf("%s-j%d", wid, j), wid, "gh/o/shared", "queued", nil))
							}
						}
					}
					// Rows every goroutine writes, in different orders and states.
					for k := range 4 {
						id := fmt.Sprintf("shared-w%d", (k+g)%4)
						status, stopped := "running", (*time.Time)(nil)
						if (g+i)%2 == 0 {
							status, stopped = "success", ptr(at(10+i))
						}
						b.Workflows = append(b.Workflows, newWorkflow(id, "p-shared", "gh/o/shared", status, stopped))
					}
					stats, err := st.WriteBatch(context.Background(), b)
					if err != nil {
						errs <- err
						continue
					}
					mu.Lock()
					total.Written += stats.Written
					total.Unchanged += stats.Unchanged
					rows += len(b.Projects) + len(b.Pipelines) + len(b.Workflows) + len(b.Jobs) + len(b.Users)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			assert.NoError(t, err)
		}
		require.Equal(t, rows, total.Written+total.Unchanged)
		n := int64(goroutines * batches)
		require.Equal(t, Counts{Entities: map[string]int64{KindProject: 1, KindPipeline: 3 * n, KindWorkflow: 6*n + 4, KindJob: 30 * n, KindUser: goroutines + 1}}, counts(t, st))
		for k := range 4 {
			requireRow(t, workflowsTable, map[string]any{"status": "success"}, readRow(t, st, workflowsTable, fmt.Sprintf("shared-w%d", k)))
		}
	})
}

func TestMigrationsIdempotent(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			st, reopen := b.open(t)
			write(t, st, Batch{Pipelines: []circleci.Pipeline{newPipeline("p1", "gh/o/r", 1, at(0))}})

			// Several more Opens at once, on the migrated database.
			var wg sync.WaitGroup
			stores := make([]Store, 4)
			errs := make([]error, 4)
			for i := range stores {
				wg.Add(1)
				go func() {
					defer wg.Done()
					stores[i], errs[i] = reopen()
				}()
			}
			wg.Wait()
			for i, s := range stores {
				require.NoError(t, errs[i])
				require.Equal(t, int64(1), counts(t, s).Entities[KindPipeline])
				require.NoError(t, s.Close())
			}
			dir := map[string]string{"sqlite": "sqlite", "postgres": "postgres"}[b.name]
			ms, err := loadMigrations(dir)
			require.NoError(t, err)
			versions, err := connOf(t, st).query(context.Background(), "SELECT version, name FROM schema_migrations ORDER BY version")
			require.NoError(t, err)
			var got []string
			for versions.Next() {
				var v int64
				var name string
				require.NoError(t, versions.Scan(&v, &name))
				got = append(got, fmt.Sprintf("%d %s", v, name))
			}
			versions.Close()
			var want []string
			for _, m := range ms {
				want = append(want, fmt.Sprintf("%d %s", m.version, m.name))
			}
			require.Equal(t, want, got)
		})
	}
}

func TestConcurrentFirstOpenPostgres(t *testing.T) {
	// Several processes starting at once on an empty database: the advisory lock
	// makes one migrate while the others wait, then find the schema done.
	u := testenv.PostgresURL(t)
	stores := make([]Store, 6)
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(context.Background(), u)
		}()
	}
	wg.Wait()
	for i, s := range stores {
		require.NoError(t, errs[i])
		require.Equal(t, Counts{}, counts(t, s))
		require.NoError(t, s.Close())
	}
}

func TestConcurrentFirstOpenSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "race.db")
	stores := make([]Store, 6)
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(context.Background(), path)
		}()
	}
	wg.Wait()
	for i, s := range stores {
		require.NoError(t, errs[i])
		require.Equal(t, Counts{}, counts(t, s))
	}
	for _, s := range stores {
		require.NoError(t, s.Close())
	}
}

func TestErrorsAreWrapped(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st Store) {
		_, err := st.WriteBatch(context.Background(), Batch{Jobs: []circleci.Job{{ID: "j"}}})
		require.True(t, errors.Is(err, ErrInvalidItem))
		require.Contains(t, err.Error(), "store: invalid item")
	})
}
