#!/usr/bin/env bash
# check-compose.sh (make compose-check): static checks of the docker-compose
# deployment, for machines without a Docker engine: nothing is built, pulled or run.
#
#  1. docker-compose 1.29 (Debian's docker-compose package) validates docker-compose.yml
#     against the Compose schema, alone, with every profile, and with the override
#     files of deploy/ (`config -q`). It runs with an empty environment, so that only the
#     file's defaults count, and any warning (a variable without a default, say) fails
#     the check. When docker-compose is missing, under CI=true it is installed (as root)
#     or the check fails; elsewhere the check says so and is skipped;
#  2. the resolved configuration (`config`) has the expected services, each in its
#     profile; every image has a pinned tag; every published port listens on
#     127.0.0.1; every bind-mounted file and the Dockerfile exist; the one-shot
#     setup services gate the server and the workers; the workers carry the
#     variables the deployment relies on;
#  3. deploy/prometheus.yml is YAML with scrape configs (and, when promtool is
#     installed, a valid Prometheus configuration); the shell scripts of deploy/ parse
#     (and pass shellcheck when it is installed).
#
# Exit status: 0 when every check passes (or it is skipped outside CI), 1 otherwise (2
# when docker-compose is missing under CI and cannot be installed).
set -euo pipefail
cd "$(dirname "$0")/.."

compose_files=(docker-compose.yml)
overrides=(deploy/docker-compose.secrets.yml deploy/docker-compose.encryption.yml)
profiles=(demo metrics scale)

failures=0
fail() {
	echo "compose-check: FAIL: $*" >&2
	failures=$((failures + 1))
}
ok() { echo "compose-check: ok: $*"; }

# 0. docker-compose: installed under CI (as root), otherwise its absence skips the check.
if ! command -v docker-compose >/dev/null 2>&1; then
	if [ "${CI:-}" != true ]; then
		echo "compose-check: SKIPPED: docker-compose is not installed (apt-get install docker-compose; under CI=true the check installs it as root)" >&2
		exit 0
	fi
	if [ "$(id -u)" -ne 0 ]; then
		echo "compose-check: FAIL: docker-compose is missing; install it (apt-get install docker-compose) or run as root" >&2
		exit 2
	fi
	echo "compose-check: installing Debian's docker-compose package"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -qq docker-compose >/dev/null 2>&1; then
		apt-get update -qq >/dev/null
		apt-get install -y -qq docker-compose >/dev/null || {
			echo "compose-check: FAIL: apt-get install docker-compose failed" >&2
			exit 2
		}
	fi
fi
echo "compose-check: $(docker-compose version --short 2>/dev/null || docker-compose version | head -n 1)"

# dc ARGS...: docker-compose in an empty environment (no host variables, no
# COMPOSE_* settings), failing on anything it prints to stderr: its warnings ("The X
# variable is not set. Defaulting to a blank string.") have no other sign.
dc_out=$(mktemp)
dc_err=$(mktemp)
trap 'rm -f "$dc_out" "$dc_err"' EXIT
dc() {
	local status=0
	env -i PATH="$PATH" HOME="${HOME:-/root}" LANG=C.UTF-8 docker-compose "$@" >"$dc_out" 2>"$dc_err" || status=$?
	if [ "$status" -ne 0 ]; then
		cat "$dc_err" >&2
		return "$status"
	fi
	if [ -s "$dc_err" ]; then
		cat "$dc_err" >&2
		return 1
	fi
}

# 1. Schema validation.
file_args=()
for f in "${compose_files[@]}"; do file_args+=(-f "$f"); done
profile_args=()
for p in "${profiles[@]}"; do profile_args+=(--profile "$p"); done
override_args=("${file_args[@]}")
for f in "${overrides[@]}"; do override_args+=(-f "$f"); done

if dc "${file_args[@]}" config -q; then ok "docker-compose.yml is valid"; else fail "docker-compose.yml: config -q"; fi
if dc "${file_args[@]}" "${profile_args[@]}" config -q; then
	ok "docker-compose.yml is valid with profiles ${profiles[*]}"
else
	fail "docker-compose.yml with profiles ${profiles[*]}: config -q"
fi
for f in "${overrides[@]}"; do
	if dc "${file_args[@]}" -f "$f" "${profile_args[@]}" config -q; then
		ok "docker-compose.yml + $f is valid"
	else
		fail "docker-compose.yml + $f: config -q"
	fi
done

# 2. The resolved configuration, every override and profile included.
if ! dc "${override_args[@]}" "${profile_args[@]}" config; then
	fail "docker-compose config with every override and profile"
	echo "compose-check: $failures check(s) failed" >&2
	exit 1
fi
resolved=$(cat "$dc_out")
if dc "${file_args[@]}" config --services; then
	services=$(cat "$dc_out")
else
	fail "docker-compose config --services"
	services=""
fi

if ! python3 -c 'import yaml' 2>/dev/null; then
	fail "python3 with PyYAML (a dependency of docker-compose) is missing: the structural checks did not run"
else
	structure_status=0
	RESOLVED="$resolved" SERVICES="$services" python3 - <<'EOF' || structure_status=$?
import os
import sys

import yaml

problems = []
def problem(msg):
    problems.append(msg)

config = yaml.safe_load(os.environ["RESOLVED"])
services = config.get("services") or {}
listed = set(os.environ["SERVICES"].split())

# Each service and its profile (None: always on).
expected = {
    "postgresql": None,
    "temporal-admin-tools": None,
    "temporal": None,
    "temporal-setup": None,
    "temporal-ui": None,
    "worker": None,
    "worker-replica": "scale",
    "prometheus": "metrics",
    "fake-circleci": "demo",
    "starter": "demo",
}
for name, profile in expected.items():
    if name not in listed:
        problem(f"`config --services` does not list {name}")
    svc = services.get(name)
    if svc is None:
        problem(f"service {name} is missing")
        continue
    got = svc.get("profiles") or []
    want = [profile] if profile else []
    if sorted(got) != sorted(want):
        problem(f"service {name}: profiles {got}, want {want}")
for name in services:
    if name not in expected:
        problem(f"service {name} is not known to scripts/check-compose.sh: add it to `expected`")

for name, svc in services.items():
    # Images: a pinned tag, never latest.
    image = svc.get("image", "")
    if not image:
        problem(f"service {name} has no image name")
    else:
        repo, _, tag = image.rpartition(":")
        if not repo or "/" in tag or tag in ("", "latest"):
            problem(f"service {name}: image {image!r} has no pinned tag")
    # Published ports: loopback only.
    for port in svc.get("ports") or []:
        text = port if isinstance(port, str) else f"{port.get('host_ip', '')}:{port.get('published', '')}"
        if not str(text).startswith("127.0.0.1:"):
            problem(f"service {name}: port {port} is not bound to 127.0.0.1")
    # Bind mounts: the host file or directory exists.
    for vol in svc.get("volumes") or []:
        src = vol.split(":", 1)[0] if isinstance(vol, str) else (vol.get("source") if vol.get("type") == "bind" else None)
        if src and src.startswith("/") and not os.path.exists(src):
            problem(f"service {name}: bind mount source {src} does not exist")
    # Builds: the Dockerfile exists.
    build = svc.get("build")
    if build:
        dockerfile = os.path.join(build["context"], build.get("dockerfile", "Dockerfile"))
        if not os.path.isfile(dockerfile):
            problem(f"service {name}: Dockerfile {dockerfile} does not exist")

def depends(name, on, condition):
    got = ((services.get(name) or {}).get("depends_on") or {}).get(on, {})
    if not isinstance(got, dict) or got.get("condition") != condition:
        problem(f"service {name} must depend on {on} with condition {condition}")

depends("temporal-admin-tools", "postgresql", "service_healthy")
depends("temporal", "temporal-admin-tools", "service_completed_successfully")
depends("temporal-setup", "temporal", "service_healthy")
for worker in ("worker", "worker-replica"):
    depends(worker, "temporal-setup", "service_completed_successfully")
    depends(worker, "postgresql", "service_healthy")
for name in ("postgresql", "temporal"):
    if not (services.get(name) or {}).get("healthcheck"):
        problem(f"service {name} has no healthcheck (others wait for service_healthy)")

# The workers' variables.
want_env = {
    "TEMPORAL_ADDRESS": "temporal:7233",
    "TEMPORAL_NAMESPACE": "default",
    "METRICS_ADDR": ":9090",
    "CODEC_SERVER_ADDR": ":8081",
    "CIRCLECI_TOKEN_FILE": "/run/secrets/circleci_token",
    "PAYLOAD_ENCRYPTION_KEYS_FILE": "/run/secrets/payload_keys",
}
for worker in ("worker", "worker-replica"):
    env = (services.get(worker) or {}).get("environment") or {}
    for key, value in want_env.items():
        if env.get(key) != value:
            problem(f"service {worker}: {key}={env.get(key)!r}, want {value!r}")
    url = env.get("DATABASE_URL") or ""
    if not url.startswith("postgres://") or "/circleci_sync" not in url:
        problem(f"service {worker}: DATABASE_URL is not the circleci_sync PostgreSQL database")
    secrets = {s["source"] if isinstance(s, dict) else s for s in (services.get(worker) or {}).get("secrets") or []}
    if secrets != {"circleci_token", "payload_keys"}:
        problem(f"service {worker}: secrets {sorted(secrets)} with the overrides, want circleci_token and payload_keys")
ui_env = (services.get("temporal-ui") or {}).get("environment") or {}
if ui_env.get("TEMPORAL_CODEC_ENDPOINT") != "http://localhost:8081":
    problem("temporal-ui: TEMPORAL_CODEC_ENDPOINT is not the worker's published codec server")
if ports := (services.get("worker") or {}).get("ports"):
    if not any("8081:8081" in str(p) for p in ports):
        problem("worker: the codec server port 8081 is not published")
if (services.get("worker-replica") or {}).get("ports"):
    problem("worker-replica publishes ports: its replicas would fight over them")

for p in problems:
    print(f"compose-check: FAIL: {p}", file=sys.stderr)
print(f"compose-check: {'ok' if not problems else 'FAIL'}: structure of {len(services)} services")
sys.exit(1 if problems else 0)
EOF
	[ "$structure_status" -eq 0 ] || failures=$((failures + 1))
fi

# 3. Prometheus' configuration and the scripts.
if python3 - deploy/prometheus.yml <<'EOF'; then
import sys

import yaml

with open(sys.argv[1]) as f:
    config = yaml.safe_load(f)
jobs = [job.get("job_name") for job in (config or {}).get("scrape_configs") or []]
if "circleci-sync-worker" not in jobs:
    sys.exit(f"{sys.argv[1]}: no scrape config circleci-sync-worker (jobs: {jobs})")
EOF
	ok "deploy/prometheus.yml is YAML with the worker's scrape config"
else
	fail "deploy/prometheus.yml"
fi
if command -v promtool >/dev/null 2>&1; then
	if promtool check config --syntax-only deploy/prometheus.yml >/dev/null; then
		ok "promtool check config deploy/prometheus.yml"
	else
		fail "promtool check config deploy/prometheus.yml"
	fi
fi
for script in deploy/temporal/*.sh; do
	if sh -n "$script"; then ok "$script parses"; else fail "$script: sh -n"; fi
done
if command -v shellcheck >/dev/null 2>&1; then
	if shellcheck -s sh deploy/temporal/*.sh && shellcheck scripts/check-compose.sh; then
		ok "shellcheck"
	else
		fail "shellcheck"
	fi
fi

if [ "$failures" -gt 0 ]; then
	echo "compose-check: $failures check(s) failed" >&2
	exit 1
fi
echo "compose-check: every check passed (static only: no image was built, pulled or run)"
