#!/bin/sh
# The Temporal namespace and circleci-sync's search attributes: docker-compose.yml's
# one-shot temporal-setup service runs this in the temporalio/admin-tools image once
# the Temporal server is healthy, before the worker starts.
#
#  1. waits for `temporal operator cluster health` (60 attempts, 2 s apart);
#  2. creates the namespace TEMPORAL_NAMESPACE (default "default") unless it exists;
#  3. registers the custom search attributes the sync workflows upsert. An attribute
#     that exists with the same type is left alone (the CLI answers success, or
#     "already exists", depending on its version); one that exists with another type
#     is an error, since the workflows would fail to upsert it;
#  4. checks that every attribute is listed with its type.
#
# Every step is idempotent: running it again changes nothing.
set -eu

: "${TEMPORAL_ADDRESS:=temporal:7233}"
: "${TEMPORAL_NAMESPACE:=default}"
: "${TEMPORAL_NAMESPACE_RETENTION:=72h}"
: "${TEMPORAL_CLI:=temporal}"
ns=$TEMPORAL_NAMESPACE

# The search attributes, NAME:TYPE, of workflows/ (ConnectionSync, ProjectSync).
search_attributes="CircleCIConnection:Keyword CircleCIOrg:Keyword CircleCIProject:Keyword CircleCISyncPhase:Keyword CircleCIPipelinesSynced:Int"

t() {
	"$TEMPORAL_CLI" --address "$TEMPORAL_ADDRESS" --command-timeout 10s "$@"
}

# retry WHAT COMMAND...: runs COMMAND until it succeeds, 60 attempts 2 s apart.
retry() {
	what=$1
	shift
	attempt=1
	until "$@"; do
		if [ "$attempt" -ge 60 ]; then
			echo "$what: gave up after $attempt attempts" >&2
			return 1
		fi
		attempt=$((attempt + 1))
		sleep 2
	done
}

healthy() { t operator cluster health >/dev/null 2>&1; }
echo "Waiting for the Temporal server at $TEMPORAL_ADDRESS..."
retry "cluster health" healthy || {
	t operator cluster health >&2 || true
	exit 1
}

if t operator namespace describe --namespace "$ns" >/dev/null 2>&1; then
	echo "Namespace $ns exists."
else
	echo "Creating namespace $ns (retention $TEMPORAL_NAMESPACE_RETENTION)..."
	out=$(t operator namespace create --namespace "$ns" --retention "$TEMPORAL_NAMESPACE_RETENTION" 2>&1) || {
		case $out in
		*"already"*) echo "Namespace $ns was created meanwhile." ;;
		*)
			echo "$out" >&2
			exit 1
			;;
		esac
	}
fi

# create_search_attribute NAME TYPE: registers NAME as TYPE in the namespace; success
# when it exists with that type already.
create_search_attribute() {
	if out=$(t operator search-attribute create --namespace "$ns" --name "$1" --type "$2" 2>&1); then
		return 0
	fi
	case $out in
	*"different type"*)
		echo "search attribute $1 exists with another type than $2: $out" >&2
		exit 1
		;;
	*"already exists"*) return 0 ;;
	esac
	# A namespace just created takes a few seconds to reach every frontend.
	echo "search attribute $1: $out (retrying)" >&2
	return 1
}

for sa in $search_attributes; do
	name=${sa%%:*}
	type=${sa#*:}
	retry "search attribute $name" create_search_attribute "$name" "$type"
	echo "Search attribute $name ($type) is registered."
done

listed=$(t operator search-attribute list --namespace "$ns")
missing=0
for sa in $search_attributes; do
	name=${sa%%:*}
	type=${sa#*:}
	if ! printf '%s\n' "$listed" | awk -v n="$name" -v ty="$type" '$1 == n && $2 == ty { found = 1 } END { exit !found }'; then
		echo "search attribute $name is not listed with type $type in namespace $ns" >&2
		missing=1
	fi
done
[ "$missing" -eq 0 ] || exit 1
echo "Namespace $ns and its $(echo "$search_attributes" | wc -w) search attributes are ready."
