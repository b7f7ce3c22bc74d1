package activities

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/store"
)

// The counts keep the flat JSON of the recorded histories: each kind under its plural.
func TestSyncCountsJSON(t *testing.T) {
	c := SyncCounts{Pages: 2, Requests: 9, Skipped: 1, SkippedBy: SkipCounts{Expired: 1}, RateLimitHeldMS: 40, ServerErrors: 2}
	c.AddEntities(store.KindPipeline, 3)
	c.AddEntities(store.KindUser, 1)
	b, err := json.Marshal(c)
	require.NoError(t, err)
	require.JSONEq(t, `{"pages":2,"pipelines":3,"workflows":0,"jobs":0,"users":1,"skipped":1,
		"skipped_by_reason":{"expired":1,"server_error":0,"not_found":0},"written":0,"unchanged":0,
		"requests":9,"rate_limited":0,"rate_limit_wait_ms":0,"rate_limit_held_ms":40,"server_errors":2}`, string(b))
	var back SyncCounts
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, c, back)
	require.Equal(t, map[string]int64{"pages": 2, "pipelines": 3, "workflows": 0, "jobs": 0, "users": 1,
		"skipped": 1, "skipped_expired": 1, "skipped_server_error": 0, "skipped_not_found": 0, "written": 0,
		"unchanged": 0, "requests": 9, "rate_limited": 0, "rate_limit_wait_ms": 0, "rate_limit_held_ms": 40,
		"server_errors": 2}, c.Map())
}
