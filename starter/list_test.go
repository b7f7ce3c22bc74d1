package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
)

func TestListAgainstFake(t *testing.T) {
	fake := circlecitest.NewServer(circlecitest.Options{Seed: 7, Projects: 3, PipelinesPerProject: 23})
	defer fake.Close()
	t.Setenv("TEST_CIRCLECI_TOKEN", fake.Token())

	var out bytes.Buffer
	err := run(context.Background(), []string{"-list", "-base-url", fake.URL, "-token-env", "TEST_CIRCLECI_TOKEN"}, &out, &out)
	require.NoError(t, err, out.String())

	want := fake.Expected(fake.Token())
	text := out.String()
	require.Contains(t, text, "as "+want.Me.Login)
	require.Contains(t, text, fmt.Sprintf("Projects (%d):", len(want.Projects)))
	for _, p := range want.Projects {
		require.Contains(t, text, p.Slug)
	}
	for _, c := range want.Collaborations {
		require.Contains(t, text, c.Slug)
	}
	// 23 pipelines a project: two pages, counted in full.
	require.Equal(t, len(want.Projects), strings.Count(text, "  23  "), text)
	require.NotContains(t, text, fake.Token())
}

func TestListOneOrg(t *testing.T) {
	fake := circlecitest.NewServer(circlecitest.Options{Seed: 7, Projects: 6})
	defer fake.Close()
	t.Setenv("TEST_CIRCLECI_TOKEN", fake.Token())

	var out bytes.Buffer
	err := run(context.Background(), []string{"-list", "-base-url", fake.URL, "-token-env", "TEST_CIRCLECI_TOKEN", "-org", "gh/acme"}, &out, &out)
	require.NoError(t, err, out.String())
	require.Contains(t, out.String(), "Projects (2):")
	require.NotContains(t, out.String(), "  bb/acme/")
}

func TestListBadToken(t *testing.T) {
	fake := circlecitest.NewServer(circlecitest.Options{Seed: 7})
	defer fake.Close()
	const bad = "not-a-valid-token-1234"
	t.Setenv("TEST_CIRCLECI_TOKEN", bad)

	var out bytes.Buffer
	err := run(context.Background(), []string{"-list", "-base-url", fake.URL, "-token-env", "TEST_CIRCLECI_TOKEN", "-timeout", time.Minute.String()}, &out, &out)
	require.Error(t, err)
	require.Contains(t, err.Error(), "401")
	require.NotContains(t, err.Error(), bad)
}

func TestListNeedsToken(t *testing.T) {
	t.Setenv("TEST_CIRCLECI_TOKEN", "")
	var out bytes.Buffer
	err := run(context.Background(), []string{"-list", "-token-env", "TEST_CIRCLECI_TOKEN"}, &out, &out)
	require.ErrorContains(t, err, "TEST_CIRCLECI_TOKEN")
}
