package metrics

// The series this package exports besides the Go and process collectors', the
// CircleCI client's (circleciprom.RequestsTotalName, RequestDurationName,
// LimiterWaitName) and the Temporal SDK's (temporal_*, see Temporal).
const (
	// EntitiesTotalName counts the entities a sync fetched and wrote, by
	// LabelKind (project, pipeline, workflow, job, user): every item of a written
	// store.Batch, whether its row changed or not.
	EntitiesTotalName = "circleci_sync_entities_total"
	// RowsWrittenTotalName counts the rows the store inserted, updated or
	// deleted (store.WriteStats.Written).
	RowsWrittenTotalName = "circleci_sync_rows_written_total"
	// RowsUnchangedTotalName counts the rows the store left alone: identical, or
	// older than what is stored (store.WriteStats.Unchanged).
	RowsUnchangedTotalName = "circleci_sync_rows_unchanged_total"
	// SkippedTotalName counts the entities sent to the skipped ledger, by
	// LabelKind and LabelReason (expired, not_found, server_error).
	SkippedTotalName = "circleci_sync_skipped_total"
	// NewestPipelineAgeName is, by LabelProject, the age in seconds of the
	// newest stored pipeline (scrape time minus its created_at).
	NewestPipelineAgeName = "circleci_sync_newest_pipeline_age_seconds"
	// NewestPipelineTimestampName is, by LabelProject, the created_at of the
	// newest stored pipeline, in Unix seconds.
	NewestPipelineTimestampName = "circleci_sync_newest_pipeline_timestamp_seconds"
	// ConnectionLastRunTimestampName is, by LabelConnection, when the last
	// completed sync of the connection ended, in Unix seconds. A connection that
	// never completed one has no series.
	ConnectionLastRunTimestampName = "circleci_sync_connection_last_run_timestamp_seconds"
	// StoreScrapeErrorsTotalName counts the store reads of a scrape that failed
	// (their series are then missing from that scrape).
	StoreScrapeErrorsTotalName = "circleci_sync_store_scrape_errors_total"
)

// Label names.
const (
	// LabelKind is an entity kind: store.KindProject, KindPipeline, KindWorkflow,
	// KindJob or KindUser.
	LabelKind = "kind"
	// LabelReason is a skipped-ledger reason (store.Skipped.Reason).
	LabelReason = "reason"
	// LabelProject is a project slug, such as gh/org/repo.
	LabelProject = "project"
	// LabelConnection is a connection id.
	LabelConnection = "connection"
)
