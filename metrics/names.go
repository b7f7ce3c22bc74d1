package metrics

// The series this package exports besides the Go, process, CircleCI client's and
// Temporal SDK's.
const (
	// EntitiesTotalName counts the entities written in batches, changed or not, by
	// LabelKind.
	EntitiesTotalName = "circleci_sync_entities_total"
	// RowsWrittenTotalName counts rows inserted, updated or deleted.
	RowsWrittenTotalName = "circleci_sync_rows_written_total"
	// RowsUnchangedTotalName counts rows left alone (identical or older).
	RowsUnchangedTotalName = "circleci_sync_rows_unchanged_total"
	// SkippedTotalName counts entities sent to the skipped ledger, by kind and reason.
	SkippedTotalName = "circleci_sync_skipped_total"
	// NewestPipelineAgeName is each project's newest stored pipeline's age in seconds.
	NewestPipelineAgeName = "circleci_sync_newest_pipeline_age_seconds"
	// NewestPipelineTimestampName is its created_at, in Unix seconds.
	NewestPipelineTimestampName = "circleci_sync_newest_pipeline_timestamp_seconds"
	// ConnectionLastRunTimestampName is when each connection's last completed sync
	// ended, in Unix seconds.
	ConnectionLastRunTimestampName = "circleci_sync_connection_last_run_timestamp_seconds"
	// StoreScrapeErrorsTotalName counts a scrape's failed store reads.
	StoreScrapeErrorsTotalName = "circleci_sync_store_scrape_errors_total"
)

// Label names.
const (
	// LabelKind is an entity kind (store.KindProject, …).
	LabelKind = "kind"
	// LabelReason is a skipped-ledger reason (store.Skipped.Reason).
	LabelReason = "reason"
	// LabelProject is a project slug, such as gh/org/repo.
	LabelProject = "project"
	// LabelConnection is a connection id.
	LabelConnection = "connection"
)
