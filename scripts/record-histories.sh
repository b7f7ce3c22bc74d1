#!/usr/bin/env bash
# Records the histories workflows/replay_test.go replays: runs e2e.TestContinueAsNew
# (a dev server that suggests continue-as-new early, so both workflows continue as
# new), TestWebhookRerunsOnOldPipelines and TestIncrementalCyclesRunProjectsInline,
# and writes the first connection's histories into
# workflows/testdata/histories/$HISTORIES_VERSION (default v1). See docs/versioning.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export TEMPORAL_CLI="${TEMPORAL_CLI:-$(bash scripts/install-temporal.sh)}"
dir="$PWD/workflows/testdata/histories/${HISTORIES_VERSION:-v1}"
rm -rf "$dir"
mkdir -p "$dir"
RECORD_HISTORIES_DIR="$dir" go test -count=1 -run '^TestContinueAsNew$' ./e2e/
# Then a targets-only run started by webhook events that ends idle (ConnectionSync-targets.json)
# and the run a later event starts (ConnectionSync-targets-again.json).
RECORD_HISTORIES_DIR="$dir" go test -count=1 -run '^TestWebhookRerunsOnOldPipelines$/^sqlite$' ./e2e/
# Then an incremental cycle that syncs its project inline, and the child going on
# from that activity's result (ConnectionSync-inline-01.json, ProjectSync-inline-02.json).
RECORD_HISTORIES_DIR="$dir" go test -count=1 -run '^TestIncrementalCyclesRunProjectsInline$' ./e2e/
ls -l "$dir"
