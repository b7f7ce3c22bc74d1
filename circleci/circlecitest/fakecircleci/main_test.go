package main

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
)

func TestParseFlagsWithEnvironment(t *testing.T) {
	t.Setenv("FAKECIRCLECI_SEED", "42")
	t.Setenv("FAKECIRCLECI_RANDOM_500", "0.25")
	t.Setenv("FAKECIRCLECI_PROJECTS", "9")
	c, err := parseFlags([]string{"-projects", "4", "-latency", "20ms", "-addr", "127.0.0.1:0",
		"-now", "2025-06-01T00:00:00Z", "-missing-users", "2"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:0", c.addr)
	assert.EqualValues(t, 42, c.opts.Seed)
	assert.Equal(t, 4, c.opts.Projects, "the command line wins over the environment")
	assert.Equal(t, 0.25, c.opts.Faults.Random500Rate)
	assert.Equal(t, 20*time.Millisecond, c.opts.Faults.Latency)
	assert.Equal(t, 2, c.opts.Faults.MissingUsers)
	assert.Equal(t, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), c.opts.Now)
	assert.Equal(t, "fake-token", c.opts.Token)
}

func TestParseFlagsErrors(t *testing.T) {
	_, err := parseFlags([]string{"-now", "yesterday"}, io.Discard)
	assert.Error(t, err)
	t.Setenv("FAKECIRCLECI_SEED", "many")
	_, err = parseFlags(nil, io.Discard)
	assert.Error(t, err)
}

func TestParseFlagsCorruptAndOddProjects(t *testing.T) {
	t.Setenv("FAKECIRCLECI_CORRUPT", `[{"route":"workflow_jobs","kind":"truncated","first":3}]`)
	c, err := parseFlags([]string{"-odd-projects", "5"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 5, c.opts.OddProjects)
	assert.Equal(t, []circlecitest.Corruption{{Route: "workflow_jobs", Kind: circlecitest.CorruptTruncated, First: 3}},
		c.opts.Faults.Corrupt)

	_, err = parseFlags([]string{"-corrupt", `[{"route":"workflow_jobs","kind":"melted"}]`}, io.Discard)
	assert.ErrorContains(t, err, "unknown kind")
}
