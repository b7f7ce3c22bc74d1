#!/usr/bin/env bash
# The main job, `make run`: a real sync, end to end, on this machine.
#
#  1. the Temporal CLI (installed into ~/.cache/circleci-sync/bin if missing);
#  2. a Temporal dev server on 127.0.0.1:7233, Web UI on :8233 (reused when one
#     already answers there, or when TEMPORAL_ADDRESS is set);
#  3. without CIRCLECI_TOKEN: the fake CircleCI with a demo dataset; with
#     CIRCLECI_TOKEN and CIRCLECI_ORG: that real organisation;
#  4. the worker, on DATABASE_URL (default sqlite://./data/circleci-sync.db);
#  5. the sync, started with the Temporal CLI (`temporal workflow start`), waited
#     for (`temporal workflow result`), then the row counts and the Web UI link.
#
# Then it keeps the dev server and the worker up for the Web UI until Ctrl-C
# (KEEP_RUNNING=0: exit at once). On exit it stops what it started, and only
# that. Logs: .tmp/temporal.log, .tmp/fakecircleci.log, .tmp/worker.log.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=.tmp/bin
mkdir -p "$bin" .tmp
# Empty the logs now: a background command's redirection truncates its log only once
# it runs, and the waits below must not read the last run's lines.
: >.tmp/temporal.log
: >.tmp/fakecircleci.log
: >.tmp/worker.log
rm -f .tmp/result.txt
connection="${SYNC_CONNECTION:-demo}"
task_queue="${CIRCLECI_SYNC_TASK_QUEUE:-circleci-sync}"
namespace="${TEMPORAL_NAMESPACE:-default}"
ui_url="${TEMPORAL_UI_URL:-http://localhost:8233}"
export DATABASE_URL="${DATABASE_URL:-sqlite://./data/circleci-sync.db}"
# What is printed of DATABASE_URL: without its password.
# (user info up to the last @ before the path, and a password= parameter, masked).
db_shown=$(printf '%s' "$DATABASE_URL" | sed -E -e 's#://[^/?]*@#://xxxxx@#' -e 's#([?&]password=)[^&]*#\1xxxxx#g')

pids=()   # started here, stopped in reverse order on exit
cleanup() {
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'echo; echo "Stopping what make run started..."; exit 130' INT TERM

# wait_for_line FILE PATTERN PID WHAT: waits until FILE has a line matching
# PATTERN, failing if PID exits first or after 60 s.
wait_for_line() {
  local file=$1 pattern=$2 pid=$3 what=$4
  for _ in $(seq 1 600); do
    grep -q -- "$pattern" "$file" 2>/dev/null && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$what exited; its log ($file):" >&2
      cat "$file" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "$what did not start within 60 s; its log ($file):" >&2
  cat "$file" >&2
  exit 1
}

if [ -n "${CIRCLECI_TOKEN:-}" ] && [ -z "${CIRCLECI_ORG:-}" ]; then
  echo "CIRCLECI_TOKEN is set but CIRCLECI_ORG is not: a sync covers one organization." >&2
  echo "See the organizations the token sees with: go run ./starter -list" >&2
  exit 2
fi

# 1. The Temporal CLI.
temporal="${TEMPORAL_CLI:-}"
if [ -z "$temporal" ]; then
  temporal=$(bash scripts/install-temporal.sh)
fi

echo "Building the worker, the starter and the fake CircleCI..."
go build -o "$bin/" ./worker ./starter ./circleci/circlecitest/fakecircleci

# 2. Temporal.
healthy() { "$temporal" operator cluster health --address "$1" --command-timeout 2s >/dev/null 2>&1; }
if [ -n "${TEMPORAL_ADDRESS:-}" ]; then
  address=$TEMPORAL_ADDRESS
  healthy "$address" || { echo "TEMPORAL_ADDRESS=$address does not answer." >&2; exit 1; }
  echo "Using the Temporal server at $address (TEMPORAL_ADDRESS)."
else
  address=127.0.0.1:7233
  if healthy "$address"; then
    echo "A Temporal server already answers on $address: using it (it is left running on exit)."
  else
    echo "Starting the Temporal dev server on $address (Web UI on :8233, state in .tmp/temporal.db)..."
    # The search attributes the syncs set (workflows/searchattributes.go); priority
    # and fairness on, one partition per queue, eager activities (docs/operations.md, "Fairness and priority").
    "$temporal" server start-dev --ip 127.0.0.1 --port 7233 --ui-port 8233 \
      --db-filename .tmp/temporal.db --log-level error \
      --dynamic-config-value matching.useNewMatcher=true --dynamic-config-value matching.enableFairness=true \
      --dynamic-config-value system.enableActivityEagerExecution=true \
      --dynamic-config-value matching.numTaskqueueReadPartitions=1 \
      --dynamic-config-value matching.numTaskqueueWritePartitions=1 \
      --search-attribute CircleCIConnection=Keyword --search-attribute CircleCIOrg=Keyword \
      --search-attribute CircleCIProject=Keyword --search-attribute CircleCISyncPhase=Keyword \
      --search-attribute CircleCIPipelinesSynced=Int >.tmp/temporal.log 2>&1 &
    pids+=($!)
    for _ in $(seq 1 600); do
      healthy "$address" && break
      kill -0 "${pids[-1]}" 2>/dev/null || { echo "The dev server exited; .tmp/temporal.log:" >&2; cat .tmp/temporal.log >&2; exit 1; }
      sleep 0.1
    done
    healthy "$address" || { echo "The dev server did not answer within 60 s; .tmp/temporal.log:" >&2; cat .tmp/temporal.log >&2; exit 1; }
  fi
fi
export TEMPORAL_ADDRESS="$address"

# 3. CircleCI: the fake, or the real organisation.
if [ -n "${CIRCLECI_TOKEN:-}" ] && [ -n "${CIRCLECI_ORG:-}" ]; then
  org=$CIRCLECI_ORG
  base_url="${CIRCLECI_BASE_URL:-https://circleci.com}"
  echo "Syncing the CircleCI organization $org at $base_url (CIRCLECI_TOKEN, CIRCLECI_ORG)."
else
  echo "No CIRCLECI_TOKEN and CIRCLECI_ORG: using the built-in fake CircleCI with a demo dataset."
  log=.tmp/fakecircleci.log
  "$bin/fakecircleci" -addr 127.0.0.1:0 -projects "${DEMO_PROJECTS:-6}" -pipelines "${DEMO_PIPELINES:-45}" >"$log" 2>&1 &
  pids+=($!)
  wait_for_line "$log" '^TOKEN=' "${pids[-1]}" "The fake CircleCI"
  base_url=$(sed -n 's/^BASE_URL=//p' "$log" | head -n 1)
  export CIRCLECI_TOKEN
  CIRCLECI_TOKEN=$(sed -n 's/^TOKEN=//p' "$log" | head -n 1)
  # The fake's organizations are gh/acme, bb/acme and circleci/<org-id>; its
  # projects cycle through them.
  org="${DEMO_ORG:-gh/acme}"
  echo "Fake CircleCI at $base_url (control API: $base_url/_fake/stats); syncing its organization $org."
fi

# 4. The worker, with its Prometheus metrics on METRICS_ADDR (default
# 127.0.0.1:9090, unless something listens there already).
metrics_addr="${METRICS_ADDR-127.0.0.1:9090}"
if [ -n "$metrics_addr" ] && (exec 3<>"/dev/tcp/${metrics_addr%:*}/${metrics_addr##*:}") 2>/dev/null; then
  echo "Something listens on $metrics_addr already: the worker serves no metrics (set METRICS_ADDR)."
  metrics_addr=""
fi
echo "Starting the worker on task queue $task_queue, database $db_shown (log: .tmp/worker.log)..."
# The worker sends tokens only to the CircleCI it syncs (the fake's URL, or yours).
CIRCLECI_ALLOWED_BASE_URLS="${CIRCLECI_ALLOWED_BASE_URLS:-$base_url}" \
  METRICS_ADDR="$metrics_addr" WORKER_STOP_TIMEOUT="${WORKER_STOP_TIMEOUT:-5s}" "$bin/worker" >.tmp/worker.log 2>&1 &
pids+=($!)
wait_for_line .tmp/worker.log 'worker polling' "${pids[-1]}" "The worker"

# 5. The sync, through the Temporal CLI (README: "The first sync against your organisation").
workflow_id="circleci-sync/$connection"
input=$(printf '{"connection_id":"%s","org_slug":"%s","base_url":"%s","token_env":"CIRCLECI_TOKEN"}' \
  "$connection" "$org" "$base_url")
echo
echo "Starting the sync:"
echo "  temporal workflow start --type ConnectionSync --task-queue $task_queue --workflow-id $workflow_id --input '$input'"
# The fake listens on a new port each time: a sync left running by an earlier
# `make run` is replaced (TerminateExisting) rather than joined.
"$temporal" workflow start --address "$address" --namespace "$namespace" \
  --type ConnectionSync --task-queue "$task_queue" --workflow-id "$workflow_id" \
  --id-conflict-policy TerminateExisting \
  --static-summary "CircleCI sync of $org (connection $connection)" \
  --static-details "Started by make run: organisation $org at $base_url, token from the worker's \$CIRCLECI_TOKEN." \
  --input "$input" >/dev/null
escaped_id=${workflow_id//\//%2F}
echo "  Web UI: $ui_url/namespaces/$namespace/workflows/$escaped_id"
echo
echo "Waiting for the sync (temporal workflow result --workflow-id $workflow_id)..."
status=0
"$temporal" workflow result --address "$address" --namespace "$namespace" --workflow-id "$workflow_id" \
  --color never >.tmp/result.txt 2>&1 || status=$?
# `temporal workflow result` exits 0 for a failed workflow too: read its status.
grep -Eq '^ *Status +COMPLETED' .tmp/result.txt || status=1
if [ "$status" -ne 0 ]; then
  echo "The sync failed:" >&2
  cat .tmp/result.txt >&2
else
  echo "The sync completed. Its result is in .tmp/result.txt."
fi

echo
"$bin/starter" counts -connection "$connection" # reads the exported DATABASE_URL
echo
echo "Progress (temporal workflow query --workflow-id $workflow_id --name progress):"
"$temporal" workflow query --address "$address" --namespace "$namespace" --workflow-id "$workflow_id" \
  --name progress 2>&1 | head -n 40 || true
echo
echo "Where to look:"
echo "  Web UI:   $ui_url/namespaces/$namespace/workflows/$escaped_id (the sync, its project children and every activity)"
echo "  Runs:     temporal workflow list --query 'CircleCIConnection=\"$connection\"'"
echo "  Re-sync:  $bin/starter resync -start -connection $connection -org $org -base-url $base_url -reason manual"
[ -n "$metrics_addr" ] && echo "  Metrics:  http://$metrics_addr/metrics"
echo "  Database: $db_shown"
echo "  Logs:     .tmp/worker.log, .tmp/temporal.log, .tmp/fakecircleci.log"
echo "  Again:    temporal workflow start ... (above), or go run ./starter -connection $connection -org $org -base-url $base_url -wait"
[ "$status" -eq 0 ] || exit "$status"

if [ "${KEEP_RUNNING:-1}" = "1" ] && [ "${#pids[@]}" -gt 0 ]; then
  echo
  echo "What make run started keeps running, for the Web UI. Press Ctrl-C to stop it."
  wait
fi
