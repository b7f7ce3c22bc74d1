package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// failFast bounds how long a sync that cannot work may take to fail: a
// non-retryable error must not be retried.
const failFast = 20 * time.Second

// TestFailures runs syncs that cannot (all) work, on SQLite: a token CircleCI
// rejects, a token variable that is not set and an invalid input each fail the
// connection's sync at once with a non-retryable ApplicationError of a stable
// type; a configured project that does not exist fails only its own child, and
// the other project is synced. No history or log holds either token.
func TestFailures(t *testing.T) {
	tsrv := startTemporal(t)
	sc := newFaultScenario(t, tsrv, backends[0], faultSpec{name: "failures", seed: 11})
	dbURL, fake, token, tokenEnv, ex := sc.dbURL, sc.fake, sc.token, sc.tokenEnv, sc.ex
	badToken := "wrong-token-" + randomHex(8)
	badTokenEnv := newEnvName("BAD_TOKEN")
	t.Setenv(badTokenEnv, badToken)
	logs := sc.startWorker()
	s := sc.s
	org := orgsOf(ex)[0]
	var realProject string
	for _, p := range ex.Projects {
		if p.OrganizationSlug == org {
			realProject = p.Slug
			break
		}
	}
	require.NotEmpty(t, realProject)

	input := func(connID string) workflows.ConnectionSyncInput {
		return workflows.ConnectionSyncInput{ConnectionID: connID, OrgSlug: org, BaseURL: fake.URL, TokenEnv: tokenEnv}
	}
	failsWith := func(t *testing.T, in workflows.ConnectionSyncInput, errType string) {
		t.Helper()
		start := time.Now()
		_, err := s.run(context.Background(), in)
		elapsed := time.Since(start)
		appErr := applicationError(t, err)
		t.Logf("failed in %s: %v", elapsed.Round(time.Millisecond), err)
		assert.Equal(t, errType, appErr.Type(), "error type")
		assert.True(t, appErr.NonRetryable(), "a %s error is non-retryable", errType)
		assert.Less(t, elapsed, failFast, "the sync fails fast")
	}

	t.Run("bad_token", func(t *testing.T) {
		in := input(newID("bad-token"))
		in.TokenEnv = badTokenEnv
		failsWith(t, in, activities.ErrInvalidCredentials)
	})
	t.Run("missing_token", func(t *testing.T) {
		in := input(newID("missing-token"))
		in.TokenEnv = newEnvName("UNSET")
		failsWith(t, in, activities.ErrMissingCredentials)
	})
	t.Run("invalid_input", func(t *testing.T) {
		in := input(newID("invalid-input"))
		in.OrgSlug = ""
		failsWith(t, in, activities.ErrInvalidInput)
	})
	t.Run("missing_project", func(t *testing.T) {
		missing := strings.Join(strings.Split(realProject, "/")[:2], "/") + "/does-not-exist"
		in := input(newID("missing-project"))
		// The missing project first: verification checks the first configured project,
		// and a missing one must fail only its own child, not the connection.
		in.Projects = []string{missing, realProject}
		res, err := s.run(context.Background(), in)
		require.NoError(t, err, "a missing project fails only its own child")
		t.Logf("result: failed %d, projects %+v", res.FailedProjects, res.Projects)
		assert.Equal(t, 1, res.FailedProjects)
		require.Len(t, res.Projects, 2)
		for _, p := range res.Projects {
			switch p.ProjectSlug {
			case missing:
				assert.Equal(t, workflows.ProjectFailed, p.Status)
				assert.Equal(t, activities.ErrProjectNotFound, p.ErrorType)
				assert.Equal(t, workflows.ProjectWorkflowID(in.ConnectionID, missing), p.WorkflowID)
			case realProject:
				assert.Equal(t, workflows.ProjectCompleted, p.Status, "error %s: %s", p.ErrorType, p.Error)
			default:
				t.Errorf("unexpected project %s in the result", p.ProjectSlug)
			}
		}
		requireTablesEqual(t, dbURL, filterExpected(ex, realProject))
	})

	t.Run("no_token_leak", func(t *testing.T) {
		st := walkHistories(t, tsrv.Client(), s.allRuns(), fake.URL, token, badToken)
		t.Logf("histories: %d workflows, %d events, no token", len(st.Runs), st.Events)
		requireNoSecretInLogs(t, map[string]string{"worker": logs.String()}, "missing-project-", token, badToken)
		requireNoSecretInState(t, dbURL, token, badToken)
	})
}
