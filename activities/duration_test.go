package activities

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Durations read as people write them, and older histories' nanoseconds read.
func TestDurationJSON(t *testing.T) {
	for d, want := range map[time.Duration]string{time.Hour: `"1h"`, 150 * time.Second: `"2m30s"`,
		90 * time.Minute: `"1h30m"`, 0: `"0s"`, 1500 * time.Millisecond: `"1.5s"`, 72 * time.Hour: `"72h"`} {
		b, err := json.Marshal(Duration(d))
		require.NoError(t, err)
		assert.Equal(t, want, string(b))
		var back Duration
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, d, back.D())
	}
	var old Duration
	require.NoError(t, json.Unmarshal([]byte("3600000000000"), &old))
	assert.Equal(t, time.Hour, old.D())
}

// Unset times are left out, not written as year 1.
func TestZeroTimesLeftOut(t *testing.T) {
	b, err := json.Marshal(StartProjectInput{ProjectSlug: "gh/a/b"})
	require.NoError(t, err)
	assert.NotContains(t, string(b), "0001-01-01")
	assert.NotContains(t, string(b), `"since"`)
}
