package circlecitest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// newPipeline makes a pipeline of project pi created at t, with its workflows as seen
// at now (mode: see modeTerminal). The order of the draws is the dataset.
func (w *world) newPipeline(g gen, pi int, t time.Time, errored bool, mode string, now time.Time) *Pipeline {
	proj := w.projects[pi]
	t = t.UTC().Truncate(time.Millisecond)
	p := &Pipeline{
		ID:          g.uuid(),
		Errors:      []PipelineError{},
		ProjectSlug: proj.Slug,
		CreatedAt:   t,
		UpdatedAt:   t.Add(g.between(500*time.Millisecond, 4*time.Second)),
		State:       pipelineStateCreated,
	}
	p.Trigger = w.newTrigger(g, t)
	branch, tag := newRef(g, proj.VCSInfo.DefaultBranch, p.Trigger.Type)
	w.setRevision(g, p, pi, branch, tag)
	if errored {
		p.State = pipelineStateErrored
		p.Errors = []PipelineError{pick(g, pipelineErrors)}
		return p
	}
	w.wfByPipeline[p.ID] = w.newWorkflows(g, p, mode, now)
	return p
}

// pipelineErrors are the errors of an errored pipeline, one picked at random.
var pipelineErrors = []PipelineError{
	{Type: "config", Message: "Config does not conform to schema: {:workflows {:build-and-test {:jobs [(not (valid-job? \"deploy\"))]}}}"},
	{Type: "config-fetch", Message: "Unable to fetch .circleci/config.yml from the repository."},
	{Type: "config", Message: "Cannot find a job named `integration-test` to run in the `jobs:` section of your configuration file."},
}

// newTrigger draws a pipeline's trigger: type, actor and receipt just before t.
func (w *world) newTrigger(g gen, t time.Time) Trigger {
	actorUser := pick(g, w.users)
	actor := Actor{Login: actorUser.Login, AvatarURL: clonePtr(actorUser.AvatarURL)}
	trig := triggerWebhook
	switch r := g.r.Float64(); {
	case r < 0.15:
		trig = triggerScheduled
		actor = Actor{Login: "system-actor"}
	case r < 0.30:
		trig = triggerAPI
		if g.chance(0.5) {
			actor = Actor{Login: "ci-bot"}
		}
	case r < 0.40:
		trig = triggerExplicit
	}
	return Trigger{Type: trig, ReceivedAt: t.Add(-g.between(50*time.Millisecond, 900*time.Millisecond)), Actor: actor}
}

// newRef draws the branch or tag a pipeline runs on (a scheduled one: the default branch).
func newRef(g gen, defaultBranch, trig string) (branch, tag string) {
	branch = defaultBranch
	switch r := g.r.Float64(); {
	case trig == triggerScheduled:
	case r < 0.08:
		branch, tag = "", fmt.Sprintf("v1.%d.%d", g.intn(30), g.intn(10))
	case r < 0.20:
		branch = "develop"
	case r < 0.55:
		branch = pick(g, featureBranches)
	}
	return branch, tag
}

// setRevision draws the commit and sets it as CircleCI shows it for the project's
// organisation: trigger parameters for a circleci/ org, a vcs object otherwise.
func (w *world) setRevision(g gen, p *Pipeline, pi int, branch, tag string) {
	proj := w.projects[pi]
	sha := g.hex(40)
	subject := pick(g, commitSubjects)
	body := ""
	if g.chance(0.3) {
		body = "Signed-off-by: " + pick(g, w.users).Login
	}
	if vcsType := w.projectOrg[pi].vcsType; vcsType != "circleci" {
		p.VCS = w.newVCS(g, proj, vcsType, branch, tag, sha, &Commit{Subject: subject, Body: body})
		return
	}
	ref := "refs/heads/" + branch
	if tag != "" {
		ref = "refs/tags/" + tag
	}
	event := "push"
	switch p.Trigger.Type {
	case triggerScheduled:
		event = "schedule"
	case triggerAPI, triggerExplicit:
		event = "api"
	}
	p.TriggerParameters = &TriggerParameters{
		CircleCI: &CircleCITriggerParameters{EventType: event, TriggerType: "gitlab",
			EventTime: p.Trigger.ReceivedAt.Format(time.RFC3339)},
		Git: &GitTriggerParameters{Branch: branch, Tag: tag, Ref: ref, CheckoutSHA: sha, CommitSHA: sha,
			CommitTitle: subject, CommitMessage: strings.TrimSpace(subject + "\n\n" + body),
			RepoURL: proj.VCSInfo.VCSURL, RepoName: proj.Name, DefaultBranch: proj.VCSInfo.DefaultBranch},
	}
}

// newVCS is the vcs object of a GitHub or Bitbucket pipeline, with a review (pull
// request, sometimes from a fork) on some feature branches.
func (w *world) newVCS(g gen, proj *Project, vcsType, branch, tag, sha string, commit *Commit) *VCS {
	repoURL := proj.VCSInfo.VCSURL
	v := &VCS{ProviderName: proj.VCSInfo.Provider, OriginRepositoryURL: repoURL, TargetRepositoryURL: repoURL,
		Revision: sha, Branch: branch, Tag: tag, Commit: commit}
	if strings.Contains(branch, "/") && g.chance(0.5) {
		id := strconv.Itoa(10 + g.intn(2000))
		v.ReviewID = id
		if vcsType == "github" {
			v.ReviewURL = repoURL + "/pull/" + id
			if g.chance(0.25) {
				v.OriginRepositoryURL = "https://github.com/" + pick(g, w.users).Login + "/" + proj.Name
			}
		} else {
			v.ReviewURL = repoURL + "/pull-requests/" + id
		}
	}
	return v
}

// newWorkflows makes a pipeline's workflows, newest first as lists show them.
func (w *world) newWorkflows(g gen, p *Pipeline, mode string, now time.Time) []*Workflow {
	nwf := 1 + g.intn(w.opts.MaxWorkflowsPerPipeline)
	wfCreated := p.CreatedAt.Add(g.between(time.Second, 8*time.Second))
	var wfs []*Workflow
	for k := range nwf {
		name := w.workflowName(p, k)
		wfMode := mode
		switch {
		case mode == modeTerminal:
			wfMode = terminalMode(g)
		case k > 0 && mode != modeNatural:
			wfMode = modeNatural // the other workflows of an active pipeline run as they would
		}
		setup := k == 0 && nwf > 1 && mode == modeTerminal && g.chance(0.12)
		if setup {
			name = "setup"
		}
		wfs = append(wfs, w.newWorkflow(g, p, name, setup, wfMode, wfCreated, now))
		wfCreated = wfCreated.Add(g.between(0, 3*time.Second))
	}
	slices.Reverse(wfs)
	return wfs
}
