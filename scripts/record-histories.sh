#!/usr/bin/env bash
# Records the workflow histories that workflows/replay_test.go replays: runs
# e2e.TestContinueAsNew (a real dev server that suggests continue-as-new early, so both
# workflows continue as new) and writes the first connection's histories, its project
# children's and their continued runs', into workflows/testdata/histories/<version>
# (HISTORIES_VERSION, default v1: the ChangeOperations version; v0 holds histories of
# runs without the marker). Run it after a deliberate, versioned workflow change, into a
# new version directory, and commit the result.
set -euo pipefail
cd "$(dirname "$0")/.."
export TEMPORAL_CLI="${TEMPORAL_CLI:-$(bash scripts/install-temporal.sh)}"
dir="$PWD/workflows/testdata/histories/${HISTORIES_VERSION:-v1}"
RECORD_HISTORIES_DIR="$dir" go test -count=1 -run '^TestContinueAsNew$' ./e2e/
ls -l "$dir"
