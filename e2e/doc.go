// Package e2e holds circleci-sync's end-to-end tests: a real Temporal dev server
// (internal/testenv), the fake CircleCI API (circleci/circlecitest) over HTTP, the
// worker (package syncworker in-process, or the worker command as a process) and
// the store on SQLite and on PostgreSQL. After each sync the tests read the
// tables back with database/sql and compare them with what the fake says a
// complete sync must store (circlecitest.Expected). The fault tests (workers
// killed, outages, a 429 storm, re-sync requests, older snapshots) start from
// newFaultScenario; the sync benchmark (BenchmarkSync, `make bench`) lives in
// the bench*_test.go files.
//
// Run them with `go test ./e2e/`; PostgreSQL needs TEST_DATABASE_URL, and the
// Temporal CLI must be installed (`make tools`). Under CI=true a missing
// dependency fails the tests instead of skipping them.
package e2e
