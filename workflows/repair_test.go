package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/circleci-sync/circleci-sync/activities"
)

// repair_every accepts "off", "0s" and durations; refuses negative or other words.
func TestRepairEveryInput(t *testing.T) {
	for in, want := range map[string]RepairEvery{`"off"`: {Off: true}, `"0s"`: {}, `"6h"`: {Every: Duration(6 * time.Hour)}} {
		c := decodeInput(t, `{"connection_id":"a","org_slug":"gh/a","repair_every":`+in+`}`)
		require.NoError(t, c.Validate(), in)
		assert.Equal(t, want, *c.RepairEvery, in)
		b, err := json.Marshal(c.RepairEvery)
		require.NoError(t, err)
		var back RepairEvery
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, want, back, "%s round-trips as %s", in, b)
	}
	assert.Equal(t, RepairEvery{Every: Duration(DefaultRepairEvery)}, *validInput().withDefaults().RepairEvery)
	for in, want := range map[string]string{`"-1h"`: "repair_every -1h0m0s: must not be negative",
		`"sometimes"`: `field "repair_every": want a Go duration such as "6h", "0s" (every sync) or "off"`,
		`true`:        `field "repair_every"`} {
		err := decodeInput(t, `{"connection_id":"a","org_slug":"gh/a","repair_every":`+in+`}`).Validate()
		var app *temporal.ApplicationError
		require.True(t, errors.As(err, &app), in)
		assert.Equal(t, activities.ErrInvalidInput, app.Type())
		assert.Contains(t, app.Message(), want)
		assert.NotContains(t, app.Message(), "sometimes")
	}
}

// A due repair runs after the refresh with the plan's From; its failure is noted
// and the project still completes. A first sync records its start as the last
// repair's; with repair off, none is recorded and StartProject is told so.
func TestProjectSyncRepair(t *testing.T) {
	every := RepairEvery{Every: Duration(time.Hour)}
	for _, c := range []struct {
		name   string
		plan   activities.ProjectPlan
		every  *RepairEvery
		fail   bool
		repair bool
	}{
		{"due", activities.ProjectPlan{Incremental: true, StartedAt: t0, Repair: activities.RepairPlan{Due: true, From: t0.Add(-48 * time.Hour)}}, &every, false, true},
		{"due_fails", activities.ProjectPlan{Incremental: true, StartedAt: t0, Repair: activities.RepairPlan{Due: true}}, &every, true, true},
		{"not_due", activities.ProjectPlan{Incremental: true, StartedAt: t0}, &every, false, false},
		{"first", activities.ProjectPlan{StartedAt: t0}, &every, false, false},
		{"off", activities.ProjectPlan{StartedAt: t0}, &RepairEvery{Off: true}, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := newEnv(t)
			var started activities.StartProjectInput
			var repaired *activities.RepairInput
			var completed activities.CompleteProjectInput
			env.OnActivity(a.StartProject, mock.Anything, mock.Anything).Return(
				func(_ context.Context, in activities.StartProjectInput) (activities.ProjectPlan, error) {
					started = in
					return c.plan, nil
				})
			env.OnActivity(a.SyncPipelinePage, mock.Anything, mock.Anything).Return(activities.PageResult{Done: true}, nil)
			env.OnActivity(a.RefreshProject, mock.Anything, mock.Anything).Return(activities.SyncCounts{}, nil)
			env.OnActivity(a.RepairProject, mock.Anything, mock.Anything).Return(
				func(_ context.Context, in activities.RepairInput) (activities.RepairResult, error) {
					repaired = &in
					if c.fail {
						return activities.RepairResult{}, temporal.NewApplicationError("boom", activities.ErrServer)
					}
					return activities.RepairResult{Counts: activities.SyncCounts{Requests: 5}}, nil
				})
			env.OnActivity(a.CompleteProject, mock.Anything, mock.Anything).Return(
				func(_ context.Context, in activities.CompleteProjectInput) error { completed = in; return nil })
			in := projectInput()
			in.RepairEvery = c.every
			env.ExecuteWorkflow(ProjectSync, in)
			require.NoError(t, env.GetWorkflowError())
			assert.Equal(t, !c.every.Off, started.Repair)
			assert.Equal(t, c.repair, repaired != nil)
			var res ProjectSyncResult
			require.NoError(t, env.GetWorkflowResult(&res))
			switch {
			case c.repair && !c.fail:
				assert.Equal(t, c.plan.Repair.From, repaired.From)
				assert.EqualValues(t, 5, completed.Counts.Requests)
			case c.fail:
				require.NotNil(t, res.LastError)
				assert.Equal(t, "repair", res.LastError.Where)
			}
			assert.Equal(t, c.name == "first", !completed.RepairedAt.IsZero())
		})
	}
}
