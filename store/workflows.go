package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci"
)

var workflowsTable = &table{
	name: "circleci_workflows",
	cols: []column{
		{"id", colText}, {"pipeline_id", colText}, {"pipeline_number", colInt},
		{"project_slug", colText}, {"name", colText}, {"status", colText}, {"tag", colText},
		{"created_at", colTime}, {"stopped_at", colTime},
		{"started_by", colText}, {"canceled_by", colText}, {"errored_by", colText},
		{"auto_rerun_number", colInt}, {"max_auto_reruns", colInt},
		{"raw", colJSON}, {"synced_at", colTime},
	},
	keyLen:        1,
	stamp:         "synced_at",
	guard:         terminalGuard("circleci_workflows", terminalWorkflowSQL),
	skipIdentical: true,
}

var workflowKind = kindOf(KindWorkflow, "workflows", workflowsTable, "Workflows",
	func(b Batch) []circleci.Workflow { return b.Workflows }, workflowRow)

// workflowRow is the circleci_workflows row of w.
func workflowRow(w circleci.Workflow, now time.Time) ([]any, error) {
	if w.ID == "" {
		return nil, errors.New("workflow: empty id")
	}
	fail := func(err error) ([]any, error) { return nil, fmt.Errorf("workflow %q: %w", w.ID, err) }
	createdAt, err := timeValue(w.CreatedAt, "created_at")
	if err != nil {
		return fail(err)
	}
	stoppedAt, err := timePtrValue(w.StoppedAt, "stopped_at")
	if err != nil {
		return fail(err)
	}
	raw, err := rawJSON(w.Raw)
	if err != nil {
		return fail(err)
	}
	return []any{
		w.ID, w.PipelineID, w.PipelineNumber,
		w.ProjectSlug, w.Name, w.Status, optString(w.Tag),
		createdAt, stoppedAt,
		optString(w.StartedBy), optString(w.CanceledBy), optString(w.ErroredBy),
		optInt(w.AutoRerunNumber), optInt(w.MaxAutoReruns),
		raw, now,
	}, nil
}
