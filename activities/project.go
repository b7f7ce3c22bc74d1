package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/store"
)

// StartProject writes the project (unless synced within RefreshAfter) and
// plans where paging stops: Watermark - Overlap when a watermark is on record,
// else in.Since. A project CircleCI does not show is ErrProjectNotFound.
func (a *Activities) StartProject(ctx context.Context, in StartProjectInput) (ProjectPlan, error) {
	if err := a.checkStore(); err != nil {
		return ProjectPlan{}, err
	}
	if err := checkSlug(in.ProjectSlug); err != nil {
		return ProjectPlan{}, err
	}
	conn, slug := in.Connection, in.ProjectSlug
	r := a.startRun(ctx, conn, nil, nil)
	defer r.stop()
	if err := r.connect(ctx); err != nil {
		return ProjectPlan{}, err
	}
	api := r.api
	var plan ProjectPlan
	st, err := a.Store.ProjectState(ctx, conn.ConnectionID, slug)
	if err != nil {
		return plan, applicationError(ctx, err, "read the sync state of project "+slug)
	}
	if st.Watermark.IsZero() || !fresh(st.LastRunAt, a.rereadAfter()) {
		p, err := api.project(ctx, slug)
		plan.Requests = api.Requests()
		if err != nil {
			if ce, ok := circleci.AsError(err); ok && ce.ProjectMissing() {
				return plan, nonRetryable(fmt.Sprintf("project %s not found or not visible to the token: "+
					"check the slug and that the token's user follows it (HTTP %d: %s)", slug, ce.StatusCode, ce.Message),
					ErrProjectNotFound)
			}
			return plan, applicationError(ctx, err, "read project "+slug)
		}
		ws, err := a.write(ctx, store.Batch{Projects: []circleci.Project{p}})
		if err != nil {
			return plan, applicationError(ctx, err, "write project "+slug)
		}
		plan.Written, plan.Unchanged = int64(ws.Written), int64(ws.Unchanged)
	}
	plan.StartedAt = time.Now().UTC()
	if !st.Watermark.IsZero() {
		plan.Incremental = true
		plan.Watermark = st.Watermark.UTC()
		plan.StopBefore = plan.Watermark.Add(-in.Overlap.D())
		plan.Repair = planRepair(in, st, plan.StartedAt)
	} else if !in.Since.IsZero() {
		plan.StopBefore = in.Since.UTC()
	}
	logger(ctx, conn).Info("project sync planned", "project", slug, "incremental", plan.Incremental,
		"watermark", plan.Watermark, "stop_before", plan.StopBefore, "repair", plan.Repair.Due, "requests", plan.Requests)
	return plan, nil
}

// planRepair plans an incremental sync's repair pass: due when on and the last
// is RepairEvery old; from the last one's start less RepairMargin, within
// Insights' horizon; Insights' names read when a day old.
func planRepair(in StartProjectInput, st store.ProjectState, now time.Time) RepairPlan {
	if !in.Repair || (!st.RepairedAt.IsZero() && now.Sub(st.RepairedAt) < in.RepairEvery.D()) {
		return RepairPlan{}
	}
	from := now.Add(-InsightsHorizon)
	if t := st.RepairedAt.Add(-RepairMargin); !st.RepairedAt.IsZero() && t.After(from) {
		from = t
	}
	return RepairPlan{Due: true, From: from.UTC(), ReadNames: !fresh(st.InsightsNamesAt, NamesFreshFor)}
}

// CompleteProject stores the project's watermark (never moved back) and figures.
func (a *Activities) CompleteProject(ctx context.Context, in CompleteProjectInput) error {
	if err := a.checkStore(); err != nil {
		return err
	}
	if err := checkSlug(in.ProjectSlug); err != nil {
		return err
	}
	// The store may be slow (an outage): the keep-alive holds the heartbeat.
	_, stopHeartbeats := newHeartbeater(ctx, nil)
	defer stopHeartbeats()
	conn := in.Connection
	st, err := a.Store.ProjectState(ctx, conn.ConnectionID, in.ProjectSlug)
	if err != nil {
		return applicationError(ctx, err, "read the sync state of project "+in.ProjectSlug)
	}
	st.ConnectionID, st.ProjectSlug = conn.ConnectionID, in.ProjectSlug
	if in.Watermark.After(st.Watermark) {
		st.Watermark = in.Watermark.UTC()
	}
	if in.RepairedAt.After(st.RepairedAt) {
		st.RepairedAt = in.RepairedAt.UTC()
	}
	st.LastRunAt = time.Now().UTC()
	st.LastRun = in.Counts.Map()
	if err := a.Store.SaveProjectState(ctx, st); err != nil {
		return applicationError(ctx, err, "save the sync state of project "+in.ProjectSlug)
	}
	logger(ctx, conn).Info("project sync completed", "project", in.ProjectSlug, "watermark", st.Watermark,
		"pipelines", in.Counts.Of(store.KindPipeline), "requests", in.Counts.Requests)
	return nil
}

// CompleteConnection stores the connection's figures and project record: the
// previous record plus in.Projects, minus in.Missing. Before dropping any, it
// verifies the connection again (a revoked token makes every project answer
// 404); when every project is missing, none is dropped.
func (a *Activities) CompleteConnection(ctx context.Context, in CompleteConnectionInput) error {
	if err := a.checkStore(); err != nil {
		return err
	}
	conn := in.Connection
	if conn.ConnectionID == "" {
		return nonRetryable("the connection has no connection_id", ErrInvalidInput)
	}
	r := a.startRun(ctx, conn, nil, nil)
	defer r.stop()
	missing := in.Missing
	if len(missing) > 0 {
		if err := r.connect(ctx); err != nil {
			return err
		}
		// The token may have been revoked, or lost the organisation, since it
		// was verified: both make every project answer 404.
		if _, err := verifySequence(ctx, r.api, conn, nil); err != nil {
			if appErr, ok := errors.AsType[*temporal.ApplicationError](err); ok && appErr.NonRetryable() {
				return nonRetryable(fmt.Sprintf("%d projects answered \"not found\", and the connection no longer passes "+
					"its verification: the project record is kept: %s", len(missing), appErr.Message()), appErr.Type())
			}
			return err
		}
		if len(missing) >= len(in.Projects) {
			logger(ctx, conn).Warn("every project answered not found: none is dropped from the record",
				"projects", len(in.Projects))
			missing = nil
		}
	}
	st, err := a.Store.ConnectionState(ctx, conn.ConnectionID)
	if err != nil {
		return applicationError(ctx, err, "read the state of connection "+conn.ConnectionID)
	}
	st.ConnectionID = conn.ConnectionID
	st.OrgSlug = conn.OrgSlug
	st.BaseURL = baseURLOrDefault(conn.BaseURL)
	st.Projects = mergeRecord(strings.TrimSpace(conn.OrgSlug), st.Projects, in.Projects, missing)
	st.LastRunAt = time.Now().UTC()
	st.LastRun = in.Counts.Map()
	st.LastRun["failed_projects"] = in.Failed
	if err := a.Store.SaveConnectionState(ctx, st); err != nil {
		return applicationError(ctx, err, "save the state of connection "+conn.ConnectionID)
	}
	logger(ctx, conn).Info("connection sync completed", "projects", len(in.Projects), "missing", len(missing),
		"recorded", len(st.Projects), "failed_projects", in.Failed,
		"requests", in.Counts.Requests)
	return nil
}
