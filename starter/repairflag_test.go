package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRepairEveryFlag: -repair-every reaches the input as repair_every ("off",
// "0s", a duration); unset leaves it out (the workflow's default).
func TestRepairEveryFlag(t *testing.T) {
	for arg, want := range map[string]string{"off": `"off"`, "0s": `"0s"`, "90m": `"1h30m`} {
		var fl startFlags
		require.NoError(t, fl.repairEvery.Set(arg))
		b, err := json.Marshal(fl.input())
		require.NoError(t, err)
		require.Contains(t, string(b), `"repair_every":`+want, arg)
		require.NoError(t, (startFlags{connection: "a", org: "gh/a", repairEvery: fl.repairEvery}).input().Validate())
	}
	b, err := json.Marshal(startFlags{}.input())
	require.NoError(t, err)
	require.NotContains(t, string(b), "repair_every")
	var fl startFlags
	require.Error(t, fl.repairEvery.Set("weekly"))
}
