// Package e2e holds circleci-sync's end-to-end tests: a real Temporal dev server
// (internal/testenv), the fake CircleCI API (circleci/circlecitest) over HTTP, the
// worker (package syncworker in-process, or the worker command as a process) and
// the store on SQLite and on PostgreSQL. After each sync the tests read the
// tables back with database/sql and compare them with what the fake says a
// complete sync must store (circlecitest.Expected).
//
// Files: helpers_test.go (fake, worker, syncs, table comparison, history and log
// checks), sync_test.go (full and incremental syncs, continue-as-new),
// kill_test.go (a worker killed mid-page), failures_test.go (bad input and
// credentials, a missing project), budget_test.go (two workers sharing one rate
// budget). The fault tests: faultkit_test.go (what they share: worker
// environments, waiting for a point of a sync, activities held by a worker, a
// recording and rewriting proxy in front of the fake, the FIGURES line each
// logs), faults_test.go (a worker killed between pages, right after a
// continue-as-new, one of two workers killed), outage_test.go (the Temporal
// server down 20 s, the database unreachable 20 s), ratelimit_test.go (a 429
// storm with 500s; Retry-After respected), resync_test.go (re-sync requests
// during a sync coalesce into one follow-up cycle), snapshot_test.go (older
// snapshots never overwrite newer rows).
//
// The sync benchmark lives here too, as it drives the same pieces: bench_test.go
// (BenchmarkSync, run by `make bench`, and its smoke test TestBenchQuick),
// benchconfig_test.go (dataset, settings, BENCH_* variables), benchrun_test.go
// (scenarios: full and incremental syncs, baseline), benchfront_test.go (the
// fake served over HTTP with every request's arrival recorded),
// benchproc_test.go (the worker process, its peak RSS), benchminimum_test.go
// (the least requests of an incremental sync), benchbaseline_test.go (the
// plain-loop baseline without Temporal), benchreport_test.go (the figures and
// targets printed).
//
// Run them with `go test ./e2e/`; PostgreSQL needs TEST_DATABASE_URL, and the
// Temporal CLI must be installed (`make tools`). Under CI=true a missing
// dependency fails the tests instead of skipping them.
package e2e
