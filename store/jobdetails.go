package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// jobDetailsTable has a row per build job whose details were fetched, keyed by the
// job's number in its project (details are fetched once, when the job is terminal).
var jobDetailsTable = &table{
	name: "circleci_job_details",
	cols: []column{
		{"project_slug", colText}, {"job_number", colInt},
		{"job_id", colText}, {"workflow_id", colText}, {"pipeline_id", colText},
		{"name", colText}, {"status", colText},
		{"created_at", colTime}, {"queued_at", colTime}, {"started_at", colTime}, {"stopped_at", colTime},
		{"duration_ms", colInt}, {"executor_type", colText}, {"resource_class", colText},
		{"parallelism", colInt}, {"contexts", colJSON}, {"web_url", colText},
		{"raw", colJSON}, {"fetched_at", colTime},
	},
	keyLen:        2,
	stamp:         "fetched_at",
	guard:         terminalGuard("circleci_job_details", terminalJobSQL),
	skipIdentical: true,
}

var jobDetailsKind = optIn(kindOf(KindJobDetails, "job_details", jobDetailsTable, "JobDetails",
	func(b Batch) []circleci.JobDetails { return b.JobDetails }, jobDetailsRow))

// jobDetailsRow is the circleci_job_details row of d.
func jobDetailsRow(d circleci.JobDetails, now time.Time) ([]any, error) {
	if d.ProjectSlug == "" || d.Number <= 0 {
		return nil, fmt.Errorf("job details (slug %q, number %d): empty slug or number", d.ProjectSlug, d.Number)
	}
	fail := func(err error) ([]any, error) {
		return nil, fmt.Errorf("job details %s/%d: %w", d.ProjectSlug, d.Number, err)
	}
	if d.JobID == "" {
		return fail(errors.New("empty JobID"))
	}
	times := make([]any, 0, 4)
	for _, t := range []struct {
		v    *time.Time
		name string
	}{{d.CreatedAt, "created_at"}, {d.QueuedAt, "queued_at"}, {d.StartedAt, "started_at"}, {d.StoppedAt, "stopped_at"}} {
		v, err := timePtrValue(t.v, t.name)
		if err != nil {
			return fail(err)
		}
		times = append(times, v)
	}
	ctxs := make([]string, len(d.Contexts))
	for i, c := range d.Contexts {
		ctxs[i] = c.Name
	}
	contexts, err := jsonValue(ctxs)
	if err != nil {
		return fail(err)
	}
	raw, err := rawJSON(d.Raw)
	if err != nil {
		return fail(err)
	}
	return []any{
		d.ProjectSlug, d.Number,
		d.JobID, emptyNil(d.LatestWorkflow.ID), emptyNil(d.Pipeline.ID),
		d.Name, d.Status,
		times[0], times[1], times[2], times[3],
		optInt(d.Duration), emptyNil(d.Executor.Type), emptyNil(d.Executor.ResourceClass),
		d.Parallelism, contexts, emptyNil(d.WebURL),
		raw, now,
	}, nil
}

// emptyNil is s, or NULL when s is empty (a field CircleCI left out).
func emptyNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}
