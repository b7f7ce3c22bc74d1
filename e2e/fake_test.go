package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
)

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newToken returns a distinctive fake CircleCI token, easy to look for in
// histories and logs.
func newToken() string { return "e2e-secret-token-" + randomHex(12) }

// newEnvName returns a fresh environment variable name, one the worker's
// default CIRCLECI_TOKEN_ENV_PATTERN accepts as a token_env.
func newEnvName(what string) string {
	return "E2E_" + what + "_" + strings.ToUpper(randomHex(4)) + "_CIRCLECI_TOKEN"
}

// newID returns a fresh connection id (or task queue) starting with prefix.
func newID(prefix string) string { return prefix + "-" + randomHex(4) }

// datasetOptions are the fake's options shared by the scenarios: 3 projects
// (one per organisation: gh/acme, bb/acme, circleci/<id>), 45 pipelines each (3
// pages of 20), and pipelines and users the API cannot give, so that the skipped
// ledger has entries. The dataset clock is the wall clock, so that the sync's
// rerun window (measured from the worker's clock) means something.
func datasetOptions(seed int64) circlecitest.Options {
	return circlecitest.Options{
		Seed:                seed,
		Projects:            3,
		PipelinesPerProject: 45,
		Now:                 time.Now().UTC().Truncate(time.Second),
		Token:               newToken(),
		Faults:              circlecitest.Faults{ExpiredPipelines: 2, BrokenPipelines: 1, MissingUsers: 1},
	}
}

// startFake starts the fake CircleCI API for t (closed when t ends) and checks
// that its dataset exercises the skipped ledger.
func startFake(t *testing.T, opts circlecitest.Options) *circlecitest.Server {
	t.Helper()
	fake := circlecitest.NewServer(opts)
	t.Cleanup(fake.Close)
	ex := fake.Expected(fake.Token())
	kinds := map[string]int{}
	for _, u := range ex.Unreachable {
		kinds[u.Kind+"/"+u.Reason]++
	}
	t.Logf("fake CircleCI at %s: %d projects, %d pipelines, %d workflows, %d jobs, %d users; unreachable %v",
		fake.URL, len(ex.Projects), len(ex.Pipelines), len(ex.Workflows), len(ex.Jobs), len(ex.Users), kinds)
	return fake
}

// orgsOf returns the distinct organisation slugs of ex's projects, in order.
func orgsOf(ex circlecitest.Expected) []string {
	var orgs []string
	for _, p := range ex.Projects {
		if !slices.Contains(orgs, p.OrganizationSlug) {
			orgs = append(orgs, p.OrganizationSlug)
		}
	}
	return orgs
}
