package workflows

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/store"
)

func TestDetailsWriteDurationsAsPeopleDo(t *testing.T) {
	in := decodeInput(t, `{"connection_id":"demo","org_slug":"gh/acme"}`)
	s := ConnectionDetails(in, "the starter")
	assert.Contains(t, s, "discovered again after 1h)")
	assert.Contains(t, s, "incremental overlap 1h, rerun window 72h, users fresh for 24h")
	assert.Contains(t, projectDetails(in.withDefaults(), "gh/acme/api", 1), "incremental overlap: 1h, rerun window: 72h")
	assert.NotContains(t, s+projectDetails(in.withDefaults(), "gh/acme/api", 1), "0m0s")
}

func counted(pipelines, users int64) activities.SyncCounts {
	var c activities.SyncCounts
	c.AddEntities(store.KindPipeline, pipelines)
	c.AddEntities(store.KindUser, users)
	return c
}

func TestConnectionDetailsListRunningProjectsOnePerLine(t *testing.T) {
	p := ConnectionProgress{Cycle: 1, Phase: PhaseProjects, Totals: counted(130, 0),
		RunningProjects: []RunningProject{{ProjectSlug: "gh/acme/api", Phase: "pages", Counts: counted(80, 0)},
			{ProjectSlug: "gh/acme/infra", Phase: "pages", Counts: counted(50, 0)}}}
	s := p.details()
	assert.Contains(t, s, "0 of 0 projects done", "not 0/0: the Web UI's Markdown writes 1/3 as a fraction")
	assert.Contains(t, s, "\n- running gh/acme/api: pages, 80 pipelines, 0 requests\n- running gh/acme/infra: pages, 50 pipelines")
	assert.NotContains(t, s, " - gh/acme", "a project is never on the totals' line")
}

func TestConnectionDetailsSayWhatTheUserFigureMeans(t *testing.T) {
	before := ConnectionProgress{Phase: PhaseProjects, Totals: counted(130, 0)}.details()
	assert.NotContains(t, before, "users written", "users are not written with the projects")
	assert.Contains(t, before, "users: fetched after the projects (0 so far)")
	after := ConnectionProgress{Phase: PhaseUsers, Totals: counted(130, 3),
		Users: &activities.ResolveUsersResult{Referenced: 15, Fresh: 12}}.details()
	assert.Contains(t, after, "users: 15 referenced · 3 fetched · 12 already fresh (not fetched again)")
	project := ProjectProgress{ProjectSlug: "gh/acme/api", Phase: "pages", Counts: counted(80, 0)}.details()
	assert.NotContains(t, project, "user", "a project does not fetch users")
}

// The details fit the Web UI's panel: bullets, at most DetailsRunningProjects
// projects listed, then the last error, cut.
func TestConnectionDetailsFitTheWebUIsPanel(t *testing.T) {
	p := ConnectionProgress{Phase: PhaseProjects, LastError: &ErrorNote{Where: "project gh/acme/deploy",
		Error: strings.Repeat("not found ", 40)}}
	for i := range 9 {
		p.RunningProjects = append(p.RunningProjects, RunningProject{ProjectSlug: fmt.Sprintf("gh/acme/p%d", i),
			Phase: PhasePages, Counts: counted(int64(i), 0)})
	}
	s := p.details()
	assert.Less(t, strings.Index(s, "- running gh/acme/p0"), strings.Index(s, "last error"), "the projects first")
	assert.True(t, strings.HasSuffix(s, strings.Repeat("not found ", 15)+"…"), "cut to 150 characters")
	assert.Equal(t, 1, strings.Count(s, "\n\n"), "a line, then bullets (they take less height than paragraphs)")
	assert.Contains(t, s, "- running gh/acme/p5: pages, 5 pipelines")
	assert.NotContains(t, s, "gh/acme/p6")
	assert.Contains(t, s, "\n- and 3 more running (the progress query lists them all)\n- last error")
}

// Once the worker stops sending the connection live reports (a long history),
// the details say why the running projects' figures stand still.
func TestConnectionDetailsSayWhenLiveReportsPause(t *testing.T) {
	p := ConnectionProgress{Phase: PhaseProjects, RunningProjects: []RunningProject{{ProjectSlug: "gh/acme/api",
		Phase: PhasePages}}}
	assert.NotContains(t, p.details(), "history is long")
	p.LiveReportsPaused = true
	assert.Contains(t, p.details(), "\n- running projects' figures move at their steps only: the run's history is long")
	p.RunningProjects = nil
	assert.NotContains(t, p.details(), "history is long", "nothing running, nothing to say")
}
