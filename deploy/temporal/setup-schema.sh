#!/bin/sh
# Temporal's schema in PostgreSQL: docker-compose.yml's one-shot temporal-admin-tools
# service runs this in the temporalio/admin-tools image before the Temporal server
# starts. For the history database and the visibility database it runs
# temporal-sql-tool (plugin postgres12): create (a no-op when the database exists),
# setup-schema -v 0.0 (a no-op once versioned) and update-schema up to the newest
# version the image ships. Every step is idempotent: running it again against an
# up-to-date database changes nothing, and after an image upgrade it migrates.
#
# Connection: SQL_HOST, SQL_PORT, SQL_USER and SQL_PASSWORD, which temporal-sql-tool
# reads itself, so that the password stays off command lines.
set -eu

: "${SQL_HOST:=postgresql}"
: "${SQL_PORT:=5432}"
: "${SQL_USER:=temporal}"
: "${DBNAME:=temporal}"
: "${VISIBILITY_DBNAME:=temporal_visibility}"
: "${TEMPORAL_SCHEMA_DIR:=/etc/temporal/schema/postgresql/v12}"
: "${SQL_TOOL:=temporal-sql-tool}"
export SQL_HOST SQL_PORT SQL_USER

sql_tool() {
	"$SQL_TOOL" --plugin postgres12 "$@"
}

echo "Waiting for PostgreSQL at $SQL_HOST:$SQL_PORT..."
attempt=0
until nc -z -w 2 "$SQL_HOST" "$SQL_PORT" 2>/dev/null; do
	attempt=$((attempt + 1))
	if [ "$attempt" -ge 60 ]; then
		echo "PostgreSQL at $SQL_HOST:$SQL_PORT did not answer within 60 attempts" >&2
		exit 1
	fi
	sleep 1
done

# setup_database NAME SCHEMA: creates the database NAME and brings it to the newest
# version under $TEMPORAL_SCHEMA_DIR/SCHEMA/versioned.
setup_database() {
	db=$1
	dir=$TEMPORAL_SCHEMA_DIR/$2/versioned
	if [ ! -d "$dir" ]; then
		echo "schema directory $dir is missing (TEMPORAL_SCHEMA_DIR)" >&2
		exit 1
	fi
	echo "Database $db: create, setup-schema, update-schema ($dir)"
	sql_tool --db "$db" create
	sql_tool --db "$db" setup-schema -v 0.0
	sql_tool --db "$db" update-schema -d "$dir"
}

setup_database "$DBNAME" temporal
setup_database "$VISIBILITY_DBNAME" visibility
echo "Temporal schema is up to date in $DBNAME and $VISIBILITY_DBNAME."
