-- The roles and the sink database of docker-compose.yml's PostgreSQL, run once by the
-- postgres image when it initialises an empty data volume (docker-entrypoint-initdb.d),
-- as the superuser, through psql with ON_ERROR_STOP.
--
-- One PostgreSQL instance holds two applications that never share a role:
--   * temporal: may create databases; temporal-admin-tools creates (and owns)
--     temporal and temporal_visibility with it, and the Temporal server uses it;
--   * circleci_sync: owns the sink database circleci_sync, which the worker's
--     store migrates (DATABASE_URL). No other role may connect to it.
-- The passwords come from the container's environment (TEMPORAL_DB_PASSWORD,
-- CIRCLECI_SYNC_DB_PASSWORD, read with psql's \getenv), never from this file.

\getenv temporal_password TEMPORAL_DB_PASSWORD
\getenv sink_password CIRCLECI_SYNC_DB_PASSWORD
\if :{?temporal_password}
\else
  \set temporal_password ''
\endif
\if :{?sink_password}
\else
  \set sink_password ''
\endif
SELECT :'temporal_password' = '' AS temporal_password_missing,
       :'sink_password' = '' AS sink_password_missing \gset
\if :temporal_password_missing
  DO $$ BEGIN RAISE EXCEPTION 'TEMPORAL_DB_PASSWORD is empty or not set'; END $$;
\endif
\if :sink_password_missing
  DO $$ BEGIN RAISE EXCEPTION 'CIRCLECI_SYNC_DB_PASSWORD is empty or not set'; END $$;
\endif

CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_password';
CREATE ROLE circleci_sync LOGIN PASSWORD :'sink_password';

CREATE DATABASE circleci_sync OWNER circleci_sync;
REVOKE ALL ON DATABASE circleci_sync FROM PUBLIC;
