#!/usr/bin/env bash
# Installs the Temporal CLI (which holds the Temporal dev server) into TOOLS_BIN
# (default ~/.cache/circleci-sync/bin) unless it is already there, and prints its
# path. It is built from source through the Go module proxy: about 4 minutes the
# first time on 2 cores, seconds afterwards. v1.5.1 is pinned: later releases
# cannot be installed from the module proxy (see internal/testenv).
set -euo pipefail
TOOLS_BIN="${TOOLS_BIN:-$HOME/.cache/circleci-sync/bin}"
TEMPORAL_CLI_VERSION="${TEMPORAL_CLI_VERSION:-v1.5.1}"
GO="${GO:-go}"
if [ ! -x "$TOOLS_BIN/temporal" ]; then
  echo "Installing the Temporal CLI $TEMPORAL_CLI_VERSION into $TOOLS_BIN (built from source: about 4 minutes the first time)..." >&2
  mkdir -p "$TOOLS_BIN"
  # Outside the module: the CLI builds with its own dependency versions.
  (cd /tmp && GOBIN="$TOOLS_BIN" "$GO" install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION")
fi
echo "$TOOLS_BIN/temporal"
