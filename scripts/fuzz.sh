#!/usr/bin/env bash
# Bounded fuzzing, for CI (`make fuzz-ci`): every Fuzz* target of every package
# that has one, each for FUZZTIME (default 10s), one after the other. It fails
# on the first crasher: Go writes the failing input to
# <package>/testdata/fuzz/<target>/<hash>, which the script names; commit it
# with the fix so that plain `go test` replays it for ever after.
#
#   FUZZTIME      how long each target runs (a go test -fuzztime value: 10s, 2m, 5000x)
#   FUZZPARALLEL  fuzzing workers per target (default: go's default, GOMAXPROCS)
#   FUZZMINIMIZETIME  how long to minimize each new input (default 5s; go's own
#                 default, 60s, can outlast FUZZTIME many times over)
#   FUZZPKGS      packages to fuzz (default: those with a func Fuzz* in a _test.go file)
#   GO            the go command (default go)
#
# It prints, per target, the executions and the new interesting inputs of the run,
# and the total time. A target whose only failure is Go 1.26's deadline race (see
# deadline_race) is run once more.
set -euo pipefail
cd "$(dirname "$0")/.."

GO="${GO:-go}"
FUZZTIME="${FUZZTIME:-10s}"
FUZZMINIMIZETIME="${FUZZMINIMIZETIME:-5s}"
parallel=()
if [ -n "${FUZZPARALLEL:-}" ]; then
	parallel=(-parallel "$FUZZPARALLEL")
fi

if [ -n "${FUZZPKGS:-}" ]; then
	read -r -a pkgs <<<"$FUZZPKGS"
else
	mapfile -t pkgs < <(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u)
fi
if [ "${#pkgs[@]}" -eq 0 ]; then
	echo "fuzz.sh: no fuzz targets found" >&2
	exit 1
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
races=0

# fuzz_one fuzzes one target for FUZZTIME, its output in $log.
fuzz_one() {
	"$GO" test -run '^$' -fuzz "^${2}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZETIME" "${parallel[@]}" "$1" >"$log" 2>&1
}

# deadline_race says whether the failure in $log is only the coordinator's own
# deadline: "context deadline exceeded" as the failure, and no failing input written.
deadline_race() {
	grep -q '^    context deadline exceeded$' "$log" && ! grep -q 'testdata/fuzz/' "$log" && ! grep -q 'panic:' "$log"
}
start=$(date +%s)
summary=()
for pkg in "${pkgs[@]}"; do
	mapfile -t targets < <("$GO" test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true)
	for target in "${targets[@]}"; do
		echo "== $pkg $target ($FUZZTIME)"
		t0=$(date +%s)
		status=0
		fuzz_one "$pkg" "$target" || status=$?
		if [ "$status" -ne 0 ] && deadline_race; then
			# Go 1.26's fuzz coordinator can report its own -fuzztime deadline as a
			# failure when a worker is mid-call as it expires (go.dev/issue/75804,
			# fixed in Go 1.27): a bare "context deadline exceeded" with no input
			# written. The target is run once more for its whole time; a second
			# failure of any kind fails the script.
			echo "fuzz.sh: $pkg $target hit the fuzz coordinator's deadline race (go.dev/issue/75804, no input written); running it again"
			races=$((races + 1))
			status=0
			fuzz_one "$pkg" "$target" || status=$?
		fi
		if [ "$status" -ne 0 ]; then
			cat "$log"
			echo "fuzz.sh: $pkg $target failed." >&2
			crasher=$(grep -o 'testdata/fuzz/[^ ]*' "$log" | tail -n1 || true)
			if [ -n "$crasher" ]; then
				echo "fuzz.sh: the failing input is $pkg/$crasher; replay it with: $GO test -run '$target/' $pkg" >&2
			fi
			exit 1
		fi
		last=$(grep 'execs:' "$log" | tail -n1 || true)
		execs=$(sed -n 's/.*execs: \([0-9]*\).*/\1/p' <<<"$last")
		interesting=$(sed -n 's/.*new interesting: \([0-9]*\).*/\1/p' <<<"$last")
		secs=$(($(date +%s) - t0))
		summary+=("$(printf '%-10s %-22s %10s execs %5s new interesting %4ss' "$pkg" "$target" "${execs:-?}" "${interesting:-?}" "$secs")")
	done
done
echo
echo "fuzz.sh: every target passed (FUZZTIME=$FUZZTIME each):"
printf '  %s\n' "${summary[@]}"
echo "fuzz.sh: total $(($(date +%s) - start))s; targets run again after the deadline race: $races"
