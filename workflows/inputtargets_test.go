package workflows

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/circleci-sync/circleci-sync/activities"
)

// TestInputTargetsOnlyAndIdle: targets_only and targets_idle decode, default
// and refuse what they must, each refusal an invalid_input naming the field.
func TestInputTargetsOnlyAndIdle(t *testing.T) {
	in := decodeInput(t, `{"connection_id":"a","org_slug":"gh/a","targets_only":true,"targets_idle":"90s"}`)
	require.NoError(t, in.Validate())
	assert.True(t, in.TargetsOnly)
	assert.Equal(t, 90*time.Second, in.withDefaults().TargetsIdle.D())
	assert.Equal(t, DefaultTargetsIdle, decodeInput(t, `{"connection_id":"a","org_slug":"gh/a","targets_only":true}`).
		withDefaults().TargetsIdle.D())
	zero := decodeInput(t, `{"connection_id":"a","org_slug":"gh/a","targets_only":true,"targets_idle":"0s"}`)
	require.NoError(t, zero.Validate())
	assert.Zero(t, zero.withDefaults().TargetsIdle.D(), "an explicit 0 is kept: end as soon as idle")

	for name, c := range map[string]struct{ input, want string }{
		"negative idle":       {`{"connection_id":"a","org_slug":"gh/a","targets_idle":"-1s"}`, "targets_idle -1s: must not be negative"},
		"idle not duration":   {`{"connection_id":"a","org_slug":"gh/a","targets_idle":"soon"}`, `field "targets_idle": want a Go duration`},
		"idle wrong type":     {`{"connection_id":"a","org_slug":"gh/a","targets_idle":true}`, `field "targets_idle"`},
		"only not bool":       {`{"connection_id":"a","org_slug":"gh/a","targets_only":"yes"}`, `field "targets_only": got a JSON string, want bool`},
		"only and continuous": {`{"connection_id":"a","org_slug":"gh/a","targets_only":true,"continuous":true}`, "targets_only: a targets-only run is not continuous"},
		"duplicate key":       {`{"connection_id":"a","org_slug":"gh/a","targets_only":false,"targets_only":true}`, "targets_only"},
	} {
		t.Run(name, func(t *testing.T) {
			err := decodeInput(t, c.input).Validate()
			var app *temporal.ApplicationError
			require.True(t, errors.As(err, &app), "got %v", err)
			assert.Equal(t, activities.ErrInvalidInput, app.Type())
			assert.True(t, app.NonRetryable())
			assert.Contains(t, app.Message(), c.want)
		})
	}
}
