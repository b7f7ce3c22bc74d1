package store

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci"
)

var pipelinesTable = &table{
	name: "circleci_pipelines",
	cols: []column{
		{"id", colText}, {"project_slug", colText}, {"number", colInt}, {"state", colText},
		{"created_at", colTime}, {"updated_at", colTime},
		{"trigger_type", colText}, {"trigger_received_at", colTime}, {"trigger_actor_login", colText},
		{"vcs_branch", colText}, {"vcs_tag", colText}, {"vcs_revision", colText},
		{"vcs_provider", colText}, {"vcs_commit_subject", colText},
		{"errors", colJSON}, {"raw", colJSON}, {"synced_at", colTime},
	},
	keyLen:        1,
	stamp:         "synced_at",
	guard:         pipelineGuard("circleci_pipelines"),
	skipIdentical: true,
}

var pipelineKind = kindOf(KindPipeline, "pipelines", pipelinesTable, "Pipelines",
	func(b Batch) []circleci.Pipeline { return b.Pipelines }, pipelineRow)

// pipelineRow is p's circleci_pipelines row; the vcs columns fall back to
// trigger_parameters.git when p has no VCS.
func pipelineRow(p circleci.Pipeline, now time.Time) ([]any, error) {
	if p.ID == "" {
		return nil, errors.New("pipeline: empty id")
	}
	fail := func(err error) ([]any, error) { return nil, fmt.Errorf("pipeline %q: %w", p.ID, err) }
	createdAt, err := timeValue(p.CreatedAt, "created_at")
	if err != nil {
		return fail(err)
	}
	updatedAt, err := timePtrValue(p.UpdatedAt, "updated_at")
	if err != nil {
		return fail(err)
	}
	receivedAt, err := timeValue(p.Trigger.ReceivedAt, "trigger.received_at")
	if err != nil {
		return fail(err)
	}
	raw, err := rawJSON(p.Raw)
	if err != nil {
		return fail(err)
	}
	pipelineErrors := p.Errors
	if pipelineErrors == nil {
		pipelineErrors = []circleci.PipelineError{}
	}
	errs, err := jsonValue(pipelineErrors)
	if err != nil {
		return fail(err)
	}

	var branch, tag, revision, provider, subject *string
	if v := p.VCS; v != nil {
		branch, tag, revision, provider = v.Branch, v.Tag, v.Revision, &v.ProviderName
		if v.Commit != nil {
			subject = v.Commit.Subject
		}
	}
	if branch == nil || tag == nil || revision == nil {
		git := triggerGit(p.TriggerParameters)
		branch = cmp.Or(branch, git.Branch)
		tag = cmp.Or(tag, git.Tag)
		revision = cmp.Or(revision, git.CheckoutSHA)
	}
	return []any{
		p.ID, p.ProjectSlug, p.Number, p.State,
		createdAt, updatedAt,
		p.Trigger.Type, receivedAt, p.Trigger.Actor.Login,
		optString(branch), optString(tag), optString(revision),
		optString(provider), optString(subject),
		errs, raw, now,
	}, nil
}

// gitParameters is what pipelineRow reads of trigger_parameters.git.
type gitParameters struct {
	Branch      *string `json:"branch"`
	Tag         *string `json:"tag"`
	CheckoutSHA *string `json:"checkout_sha"`
}

// triggerGit decodes trigger_parameters.git leniently: anything unexpected is absent.
func triggerGit(params map[string]json.RawMessage) gitParameters {
	var g gitParameters
	raw, ok := params["git"]
	if !ok {
		return g
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return g
	}
	str := func(name string) *string {
		var s string
		if v, ok := fields[name]; ok && json.Unmarshal(v, &s) == nil {
			return &s
		}
		return nil
	}
	g.Branch, g.Tag, g.CheckoutSHA = str("branch"), str("tag"), str("checkout_sha")
	return g
}
