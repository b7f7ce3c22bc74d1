package store

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// WorkflowNames returns the distinct names of the project's workflows created since t, sorted.
func (q *queries) WorkflowNames(ctx context.Context, projectSlug string, t time.Time) ([]string, error) {
	names, err := q.queryStrings(ctx, nil,
		`SELECT DISTINCT name FROM circleci_workflows WHERE project_slug = $1 AND created_at >= $2 AND name IS NOT NULL`,
		projectSlug, sinceArg(t))
	if err != nil {
		return nil, fmt.Errorf("store: workflow names of %q since %s: %w", projectSlug, t.Format(time.RFC3339Nano), err)
	}
	slices.Sort(names)
	return names, nil
}

// PipelineStates returns the stored state of those of ids that are stored pipelines.
func (q *queries) PipelineStates(ctx context.Context, ids []string) (map[string]string, error) {
	return q.columnByID(ctx, "states of %d pipelines", "circleci_pipelines", "state", ids)
}
