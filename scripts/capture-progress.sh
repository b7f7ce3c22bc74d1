#!/usr/bin/env bash
# Captures what a user sees of a running sync (docs/operations.md, "Watching a
# sync"): a dev server with its Web UI, the fake CircleCI slowed down and
# rate-limited, a worker, a sync; mid-project, headless Chromium screenshots of
# the connection's and a project's pages (docs/img/) and `starter watch` through
# tmux (docs/watch-screen.txt). Needs the Temporal CLI, chromium, node (20+) and tmux.
set -euo pipefail
cd "$(dirname "$0")/.."
temporal="${TEMPORAL_CLI:-$HOME/.cache/circleci-sync/bin/temporal}"
port="${PORT:-7391}" ui="${UI_PORT:-8391}"
tmp=.tmp/capture && rm -rf "$tmp" && mkdir -p "$tmp/bin"
go build -o "$tmp/bin/" ./worker ./starter ./circleci/circlecitest/fakecircleci
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; tmux kill-session -t capture 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 1' INT TERM
"$temporal" server start-dev --ip 127.0.0.1 --port "$port" --ui-port "$ui" --log-level error \
  --db-filename "$tmp/temporal.db" >"$tmp/temporal.log" 2>&1 &
pids+=($!)
"$tmp/bin/fakecircleci" -addr 127.0.0.1:0 -projects 4 -pipelines 3000 -latency 200ms -rate 10 -random-500 0.01 \
  >"$tmp/fake.log" 2>&1 &
pids+=($!)
until grep -q '^TOKEN=' "$tmp/fake.log"; do sleep 0.2; done
until "$temporal" operator cluster health --address "127.0.0.1:$port" >/dev/null 2>&1; do sleep 0.3; done
export TEMPORAL_ADDRESS="127.0.0.1:$port" CIRCLECI_TOKEN=$(sed -n 's/^TOKEN=//p' "$tmp/fake.log")
base_url=$(sed -n 's/^BASE_URL=//p' "$tmp/fake.log")
DATABASE_URL="sqlite://$PWD/$tmp/data.db" CIRCLECI_SYNC_TASK_QUEUE=capture CIRCLECI_ALLOWED_BASE_URLS="$base_url" \
  CIRCLECI_RATE=10 "$tmp/bin/worker" >"$tmp/worker.log" 2>&1 &
pids+=($!)
until grep -q 'worker polling' "$tmp/worker.log"; do sleep 0.2; done
"$tmp/bin/starter" -connection demo -org gh/acme -base-url "$base_url" -task-queue capture -max-concurrent-projects 2 -projects gh/acme/api,gh/acme/infra,gh/acme/deploy \
  >"$tmp/start.log" 2>&1
tmux new-session -d -s capture -x 150 -y 24 "$tmp/bin/starter watch -connection demo; sleep 600"
# Shoot a short while after the first live report (non-zero pipelines), long
# before the sync ends (it takes well over 8 minutes at this latency and rate).
until "$temporal" workflow query -w circleci-sync/demo --name progress 2>/dev/null | grep -q '"pipelines": *[1-9]'; do sleep 2; done
sleep "${MID:-20}"
tmux capture-pane -p -t capture >docs/watch-screen.txt
run=$(sed -n 's/^run_id=//p' "$tmp/start.log")
"$temporal" workflow list --query 'WorkflowType="ProjectSync" AND ExecutionStatus="Running"' -o json >"$tmp/running.json"
project=$(grep -o '"workflowId": *"[^"]*"' "$tmp/running.json" | head -1 | sed 's/.*: *"//; s/"$//')
prun=$(grep -o '"runId": *"[^"]*"' "$tmp/running.json" | head -1 | sed 's/.*: *"//; s/"$//')
# `chromium --screenshot` waits for the page to go idle, which the Web UI of a
# running workflow never does: shoot through the DevTools protocol instead.
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,1100 \
  --remote-debugging-port="${CDP_PORT:-9339}" about:blank >"$tmp/chromium.log" 2>&1 &
pids+=($!)
sleep 3
shot() { timeout 120 node --experimental-websocket scripts/screenshot.mjs "${CDP_PORT:-9339}" "$2" "$1" "${WAIT_MS:-20000}"; }
enc() { printf %s "$1" | sed "s#/#%2F#g"; }
# One page at a time (the machine may be loaded); both runs must
# still be Running when shot, or the pictures show a finished sync.
shot docs/img/connection-running.png "http://127.0.0.1:$ui/namespaces/default/workflows/$(enc circleci-sync/demo)/$run/user-metadata"
shot docs/img/project-running.png "http://127.0.0.1:$ui/namespaces/default/workflows/$(enc "$project")/$prun/user-metadata"
for w in circleci-sync/demo "$project"; do
  "$temporal" workflow describe -w "$w" -o json >"$tmp/describe.json"
  grep -q '"status": *"WORKFLOW_EXECUTION_STATUS_RUNNING"' "$tmp/describe.json" ||
    { echo "capture: $w no longer Running: re-run with a longer sync" >&2; exit 1; }
done
"$temporal" workflow list --query 'CircleCIConnection="demo"' >docs/workflow-list.txt 2>&1 || true
"$temporal" workflow query -w circleci-sync/demo --name progress >"$tmp/progress.json" 2>&1 || true
"$temporal" workflow terminate -w circleci-sync/demo --reason "capture done" >/dev/null 2>&1 || true
sleep 3
tmux capture-pane -p -t capture >docs/watch-screen-end.txt
ls -l docs/img docs/watch-screen*.txt
