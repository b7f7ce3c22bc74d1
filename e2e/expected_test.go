package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
)

// expectedRows turns ex into rows by table.
func expectedRows(ex circlecitest.Expected) (map[string]map[string]row, error) {
	out := map[string]map[string]row{}
	add := func(table, key string, cols map[string]string, item any, dropKeys ...string) error {
		raw, err := wireJSON(item, dropKeys...)
		if err != nil {
			return err
		}
		if out[table] == nil {
			out[table] = map[string]row{}
		}
		out[table][key] = row{cols: cols, raw: raw}
		return nil
	}
	for _, p := range ex.Projects {
		// vcs_type is the fake's v1.1 field, not part of the v2 project.
		if err := add("circleci_projects", p.Slug, map[string]string{}, p, "vcs_type"); err != nil {
			return nil, err
		}
	}
	for _, p := range ex.Pipelines {
		if err := add("circleci_pipelines", p.ID, map[string]string{"project_slug": p.ProjectSlug, "state": p.State}, p); err != nil {
			return nil, err
		}
	}
	for _, w := range ex.Workflows {
		if err := add("circleci_workflows", w.ID, map[string]string{"pipeline_id": w.PipelineID,
			"project_slug": w.ProjectSlug, "status": w.Status}, w); err != nil {
			return nil, err
		}
	}
	for _, j := range ex.Jobs {
		// Keyed per (workflow, job): a rerun from failed lists a job under two
		// workflows. CircleCI does not send a job's workflow_id and pipeline_id.
		if err := add("circleci_jobs", j.WorkflowID+"/"+j.ID, map[string]string{"workflow_id": j.WorkflowID,
			"project_slug": j.ProjectSlug, "status": j.Status}, j, "workflow_id", "pipeline_id"); err != nil {
			return nil, err
		}
	}
	for _, u := range ex.Users {
		if err := add("circleci_users", u.ID, map[string]string{"login": u.Login}, u); err != nil {
			return nil, err
		}
	}
	out["circleci_skipped"] = map[string]row{}
	for _, u := range ex.Unreachable {
		out["circleci_skipped"][u.Kind+"/"+u.ID] = row{cols: map[string]string{"project_slug": u.ProjectSlug,
			"reason": u.Reason, "http_status": fmt.Sprint(u.HTTPStatus)}}
	}
	return out, nil
}

// wireJSON is item (a dataset value of the fake) as the API sends it, decoded
// and normalised: the fake's dataset types marshal like its wire types except
// for the keys in drop (fields CircleCI does not send), the time layout (the wire
// has milliseconds; normJSON puts both in one layout) and a pipeline's empty
// error list (always [] on the wire).
func wireJSON(item any, drop ...string) (any, error) {
	b, err := json.Marshal(item)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for _, k := range drop {
		delete(m, k)
	}
	if _, isPipeline := item.(circlecitest.Pipeline); isPipeline && m["errors"] == nil {
		m["errors"] = []any{}
	}
	return normJSON(m), nil
}

// normJSON normalises decoded JSON for comparison: every string that is an RFC
// 3339 time is rewritten in UTC with milliseconds, CircleCI's layout.
func normJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normJSON(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normJSON(e)
		}
		return x
	case string:
		if len(x) >= 20 && len(x) <= 40 && x[4] == '-' && strings.ContainsRune(x, 'T') {
			if tm, err := time.Parse(time.RFC3339Nano, x); err == nil {
				return tm.UTC().Format("2006-01-02T15:04:05.000Z07:00")
			}
		}
		return x
	}
	return v
}

// filterExpected keeps of ex what a sync of the given projects stores: those
// projects, their pipelines, workflows and jobs, the users those reference, and
// the unreachable entities among them.
func filterExpected(ex circlecitest.Expected, projects ...string) circlecitest.Expected {
	in := func(slug string) bool { return slices.Contains(projects, slug) }
	out := ex
	out.Projects, out.Pipelines, out.Workflows, out.Jobs, out.Users, out.Unreachable = nil, nil, nil, nil, nil, nil
	refs := map[string]bool{}
	ref := func(ids ...string) {
		for _, id := range ids {
			if id != "" {
				refs[id] = true
			}
		}
	}
	for _, p := range ex.Projects {
		if in(p.Slug) {
			out.Projects = append(out.Projects, p)
		}
	}
	for _, p := range ex.Pipelines {
		if in(p.ProjectSlug) {
			out.Pipelines = append(out.Pipelines, p)
		}
	}
	for _, w := range ex.Workflows {
		if in(w.ProjectSlug) {
			out.Workflows = append(out.Workflows, w)
			ref(w.StartedBy, w.CanceledBy, w.ErroredBy)
		}
	}
	for _, j := range ex.Jobs {
		if in(j.ProjectSlug) {
			out.Jobs = append(out.Jobs, j)
			ref(j.ApprovedBy, j.CanceledBy)
		}
	}
	for _, u := range ex.Users {
		if refs[u.ID] {
			out.Users = append(out.Users, u)
		}
	}
	for _, u := range ex.Unreachable {
		if (u.Kind == circlecitest.UnreachableUser && refs[u.ID]) ||
			(u.Kind != circlecitest.UnreachableUser && in(u.ProjectSlug)) {
			out.Unreachable = append(out.Unreachable, u)
		}
	}
	return out
}
