package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// jobsTable has a row per (workflow, job): a rerun from failed lists the original's
// successful jobs, same id, under the new workflow, and each workflow keeps them.
var jobsTable = &table{
	name: "circleci_jobs",
	cols: []column{
		{"workflow_id", colText}, {"id", colText}, {"project_slug", colText},
		{"job_number", colInt}, {"name", colText}, {"type", colText}, {"status", colText},
		{"started_at", colTime}, {"stopped_at", colTime},
		{"approved_by", colText}, {"canceled_by", colText}, {"approval_request_id", colText},
		{"dependencies", colJSON}, {"requires", colJSON},
		{"raw", colJSON}, {"synced_at", colTime},
	},
	keyLen:        2,
	stamp:         "synced_at",
	guard:         terminalGuard("circleci_jobs", terminalJobSQL),
	skipIdentical: true,
}

var jobKind = kindOf(KindJob, "jobs", jobsTable, "Jobs",
	func(b Batch) []circleci.Job { return b.Jobs }, jobRow)

// jobRow is the circleci_jobs row of j.
func jobRow(j circleci.Job, now time.Time) ([]any, error) {
	if j.ID == "" {
		return nil, fmt.Errorf("job (name %q): empty id", j.Name)
	}
	fail := func(err error) ([]any, error) { return nil, fmt.Errorf("job %q: %w", j.ID, err) }
	if j.WorkflowID == "" {
		return fail(errors.New("empty WorkflowID"))
	}
	startedAt, err := timePtrValue(j.StartedAt, "started_at")
	if err != nil {
		return fail(err)
	}
	stoppedAt, err := timePtrValue(j.StoppedAt, "stopped_at")
	if err != nil {
		return fail(err)
	}
	raw, err := rawJSON(j.Raw)
	if err != nil {
		return fail(err)
	}
	deps := j.Dependencies
	if deps == nil {
		deps = []string{}
	}
	dependencies, err := jsonValue(deps)
	if err != nil {
		return fail(err)
	}
	var requires any
	if j.Requires != nil {
		if requires, err = jsonValue(j.Requires); err != nil {
			return fail(err)
		}
	}
	return []any{
		j.WorkflowID, j.ID, j.ProjectSlug,
		optInt(j.JobNumber), j.Name, j.Type, j.Status,
		startedAt, stoppedAt,
		optString(j.ApprovedBy), optString(j.CanceledBy), optString(j.ApprovalRequestID),
		dependencies, requires,
		raw, now,
	}, nil
}
