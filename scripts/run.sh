#!/usr/bin/env bash
# The main job, `make run`. Without CIRCLECI_TOKEN it starts the built-in fake CircleCI
# with a demo dataset and lists it through the real client; with CIRCLECI_TOKEN (and
# optionally CIRCLECI_ORG, CIRCLECI_BASE_URL) it lists that real organization instead.
# It stops whatever it started on exit or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=.tmp/bin
mkdir -p "$bin" .tmp
go build -o "$bin/" ./starter ./circleci/circlecitest/fakecircleci

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${CIRCLECI_TOKEN:-}" ]; then
  echo "No CIRCLECI_TOKEN: using the built-in fake CircleCI with a demo dataset."
  log=.tmp/fakecircleci.log
  "$bin/fakecircleci" -addr 127.0.0.1:0 -projects "${DEMO_PROJECTS:-6}" -pipelines "${DEMO_PIPELINES:-45}" >"$log" 2>&1 &
  pids+=($!)
  base_url=""
  for _ in $(seq 1 100); do
    base_url=$(sed -n 's/^BASE_URL=//p' "$log" | head -n 1)
    [ -n "$base_url" ] && break
    sleep 0.1
  done
  [ -n "$base_url" ] || { echo "the fake CircleCI did not start:"; cat "$log"; exit 1; }
  export CIRCLECI_TOKEN
  CIRCLECI_TOKEN=$(sed -n 's/^TOKEN=//p' "$log" | head -n 1)
  export CIRCLECI_BASE_URL="$base_url"
  echo "Fake CircleCI at $base_url (control API: $base_url/_fake/stats)"
  echo
fi

"$bin/starter" -list
