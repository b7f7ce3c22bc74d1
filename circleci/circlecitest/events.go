package circlecitest

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// hookEvent is a completion to report, its payload built but for id and webhook.
type hookEvent struct {
	project int
	at      time.Time
	body    wireEvent
}

// terminalSet returns the ids of the finished workflows and jobs ("j/" prefixed).
func (w *world) terminalSet() map[string]bool {
	done := map[string]bool{}
	for id, wf := range w.workflows {
		if isTerminalWorkflow(wf.Status) {
			done[id] = true
		}
		for _, j := range w.jobsByWf[id] {
			if isTerminalJob(j.Status) {
				done["j/"+j.ID] = true
			}
		}
	}
	return done
}

// completedSince returns the events of the workflows and jobs finished since done
// was taken, by time: a job's as it ends, even in a running workflow. Jobs a rerun
// from failed reuses finished before; approvals and jobs that never ran send none.
func (w *world) completedSince(done map[string]bool) []hookEvent {
	var out []hookEvent
	for _, p := range w.all {
		pi := w.pipelineProj[p.ID]
		for _, wf := range w.wfByPipeline[p.ID] {
			if done[wf.ID] {
				continue
			}
			for _, j := range w.jobsByWf[wf.ID] {
				if done["j/"+j.ID] || j.Type == jobTypeApproval || j.StoppedAt == nil ||
					!slices.Contains([]string{"success", "failed", "canceled", "unauthorized"}, j.Status) {
					continue
				}
				out = append(out, hookEvent{pi, *j.StoppedAt, w.eventBody(pi, p, wf, j)})
			}
			if wf.StoppedAt != nil && slices.Contains([]string{"success", "failed", "error", "canceled", "unauthorized"}, wf.Status) {
				out = append(out, hookEvent{pi, *wf.StoppedAt, w.eventBody(pi, p, wf, nil)})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b hookEvent) int { return a.at.Compare(b.at) })
	return out
}

// eventBody is the payload of wf's workflow-completed event, or of j's job-completed.
func (w *world) eventBody(pi int, p *Pipeline, wf *Workflow, j *Job) wireEvent {
	pr, o := w.projects[pi], w.projectOrg[pi]
	slug := longSlug(pr.Slug)
	ev := wireEvent{Type: "workflow-completed",
		Project:      wireEventProject{ID: pr.ID, Slug: slug, Name: pr.Name},
		Organization: wireNamed{ID: o.id, Name: o.name},
		Workflow: wireEventWorkflow{ID: wf.ID, Name: wf.Name, Status: wf.Status, CreatedAt: wireTime(wf.CreatedAt),
			StoppedAt: wtp(wf.StoppedAt),
			URL:       fmt.Sprintf("https://app.circleci.com/pipelines/%s/%d/workflows/%s", slug, p.Number, wf.ID)},
		Pipeline: eventPipeline(p)}
	if j == nil {
		ev.HappenedAt = wireTime(*wf.StoppedAt)
	} else {
		ev.Type, ev.HappenedAt, ev.Workflow.Status = "job-completed", wireTime(*j.StoppedAt), ""
		ev.Job = &wireEventJob{ID: j.ID, Name: j.Name, Status: j.Status, StartedAt: wtp(j.StartedAt), StoppedAt: wtp(j.StoppedAt)}
		if j.JobNumber != nil {
			ev.Job.Number = *j.JobNumber
		}
	}
	return ev
}

// longSlug is a slug as events write it: "github/…" and "bitbucket/…".
func longSlug(slug string) string {
	vcs, rest, _ := strings.Cut(slug, "/")
	switch vcs {
	case "gh":
		vcs = "github"
	case "bb":
		vcs = "bitbucket"
	}
	return vcs + "/" + rest
}

// eventPipeline is an event's pipeline: with vcs for GitHub OAuth and Bitbucket
// projects, with trigger_parameters for the others (GitLab here).
func eventPipeline(p *Pipeline) wireEventPipeline {
	ep := wireEventPipeline{ID: p.ID, Number: p.Number, CreatedAt: wireTime(p.CreatedAt),
		Trigger: wireEventTrigger{Type: p.Trigger.Type}}
	if v := p.VCS; v != nil {
		ep.VCS = &wireEventVCS{ProviderName: v.ProviderName, TargetRepositoryURL: v.TargetRepositoryURL,
			OriginRepositoryURL: v.OriginRepositoryURL, Revision: v.Revision, Branch: v.Branch, Tag: v.Tag}
		if v.Commit != nil {
			ep.VCS.Commit = &wireEventCommit{Subject: v.Commit.Subject, Body: v.Commit.Body,
				AuthoredAt: wireTime(p.CreatedAt), CommittedAt: wireTime(p.CreatedAt)}
		}
		return ep
	}
	tp := p.TriggerParameters
	if tp == nil || tp.Git == nil || tp.CircleCI == nil {
		return ep
	}
	ep.Trigger.Type = tp.CircleCI.TriggerType
	ep.TriggerParameters = &wireEventTriggerParams{
		CircleCI: wireEventCircleCI{EventTime: tp.CircleCI.EventTime, EventType: tp.CircleCI.EventType,
			TriggerType: tp.CircleCI.TriggerType},
		Git: wireEventGit{Tag: tp.Git.Tag, CheckoutSHA: tp.Git.CheckoutSHA, Ref: tp.Git.Ref, Branch: tp.Git.Branch,
			CheckoutURL: tp.Git.RepoURL},
		GitLab: map[string]any{"type": tp.CircleCI.EventType, "ref": tp.Git.Ref, "checkout_sha": tp.Git.CheckoutSHA,
			"commit_title": tp.Git.CommitTitle, "web_url": tp.Git.RepoURL, "default_branch": tp.Git.DefaultBranch},
	}
	return ep
}
