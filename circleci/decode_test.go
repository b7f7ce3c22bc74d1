package circleci

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return tm
}

func TestDecodePipelinePage(t *testing.T) {
	c, _, _ := newTestClient(t, jsonBody(200, pipelinePageJSON))
	p, err := c.ProjectPipelinesPage(context.Background(), "gh/acme/widgets", "", "")
	require.NoError(t, err)
	assert.Equal(t, "AARLwwV4-page2", p.NextPageToken)
	require.Len(t, p.Items, 2)

	full := p.Items[0]
	assert.Equal(t, "9f1a2c3e-0b7d-4f7e-8a31-2f5a1d9c0b11", full.ID)
	assert.Equal(t, int64(4812), full.Number)
	assert.Equal(t, PipelineStateCreated, full.State)
	assert.Equal(t, "gh/acme/widgets", full.ProjectSlug)
	assert.Equal(t, mustTime(t, "2025-09-30T12:01:04.900Z"), full.CreatedAt)
	require.NotNil(t, full.UpdatedAt)
	assert.Equal(t, mustTime(t, "2025-09-30T12:01:05.120Z"), *full.UpdatedAt)
	assert.Empty(t, full.Errors)
	assert.Equal(t, "webhook", full.Trigger.Type)
	assert.Equal(t, "jdoe", full.Trigger.Actor.Login)
	require.NotNil(t, full.VCS)
	require.NotNil(t, full.VCS.Branch)
	assert.Equal(t, "main", *full.VCS.Branch)
	assert.Nil(t, full.VCS.Tag)
	require.NotNil(t, full.VCS.Commit)
	require.NotNil(t, full.VCS.Commit.Body)
	assert.Equal(t, "", *full.VCS.Commit.Body)
	assert.JSONEq(t, pipelineJSON, string(full.Raw))

	bare := p.Items[1]
	assert.Nil(t, bare.VCS, "missing vcs")
	assert.Nil(t, bare.UpdatedAt)
	assert.Equal(t, "brand-new-state", bare.State, "unknown enum values are kept")
	assert.Equal(t, "gitlab_push", bare.Trigger.Type)
	assert.Nil(t, bare.Trigger.Actor.AvatarURL)
	require.Len(t, bare.Errors, 1)
	assert.Equal(t, PipelineError{Type: "config", Message: "bad yaml"}, bare.Errors[0])
	assert.JSONEq(t, `{"branch":"main","checkout_sha":"abc"}`, string(bare.TriggerParameters["git"]))
	assert.Equal(t, pipelineNoVCSJSON, string(bare.Raw), "raw JSON kept byte for byte")
}

func TestDecodeNextPageToken(t *testing.T) {
	for name, body := range map[string]string{
		"null":          `{"items":[],"next_page_token":null}`,
		"missing":       `{"items":[]}`,
		"empty string":  `{"items":[],"next_page_token":""}`,
		"items missing": `{"next_page_token":null}`,
		"items null":    `{"items":null,"next_page_token":null}`,
	} {
		t.Run(name, func(t *testing.T) {
			c, _, _ := newTestClient(t, jsonBody(200, body))
			p, err := c.PipelineWorkflowsPage(context.Background(), "p", "")
			require.NoError(t, err)
			assert.Equal(t, "", p.NextPageToken)
			assert.NotNil(t, p.Items)
			assert.Empty(t, p.Items)
		})
	}
}

func TestDecodeWorkflows(t *testing.T) {
	c, _, _ := newTestClient(t, jsonBody(200, workflowPageJSON))
	p, err := c.PipelineWorkflowsPage(context.Background(), "9f1a2c3e-0b7d-4f7e-8a31-2f5a1d9c0b11", "")
	require.NoError(t, err)
	require.Len(t, p.Items, 2)
	done, running := p.Items[0], p.Items[1]
	assert.Equal(t, WorkflowStatusSuccess, done.Status)
	require.NotNil(t, done.StartedBy)
	assert.Equal(t, "6a0d3c2b-1e4f-4b5a-8c7d-9e0f1a2b3c4d", *done.StartedBy)
	require.NotNil(t, done.StoppedAt)
	assert.Equal(t, mustTime(t, "2025-09-30T12:09:41.513Z"), *done.StoppedAt)
	assert.Nil(t, done.Tag)
	assert.Nil(t, done.AutoRerunNumber)

	assert.Equal(t, "quantum_superposition", running.Status)
	assert.False(t, IsTerminalWorkflowStatus(running.Status))
	assert.Nil(t, running.StoppedAt, "null stopped_at")
	assert.Nil(t, running.StartedBy, "null started_by")
	require.NotNil(t, running.Tag)
	assert.Equal(t, "setup", *running.Tag)
	require.NotNil(t, running.AutoRerunNumber)
	assert.Equal(t, int64(1), *running.AutoRerunNumber)
	assert.Equal(t, runningWorkflowJSON, string(running.Raw))
}

func TestDecodeJobsSetsWorkflowID(t *testing.T) {
	const wf = "2b7c4d10-5e6f-4a1b-9c8d-7e6f5a4b3c2d"
	c, _, _ := newTestClient(t, jsonBody(200, jobPageJSON))
	p, err := c.WorkflowJobsPage(context.Background(), wf, "")
	require.NoError(t, err)
	require.Len(t, p.Items, 3)
	for _, j := range p.Items {
		assert.Equal(t, wf, j.WorkflowID)
	}
	build, approval, blocked := p.Items[0], p.Items[1], p.Items[2]
	require.NotNil(t, build.JobNumber)
	assert.Equal(t, int64(9120), *build.JobNumber)
	require.NotNil(t, build.StartedAt)
	assert.Equal(t, JobTypeBuild, build.Type)
	assert.Equal(t, []string{}, build.Dependencies)

	assert.Equal(t, JobTypeApproval, approval.Type)
	require.NotNil(t, approval.ApprovedBy)
	require.NotNil(t, approval.ApprovalRequestID)

	assert.Nil(t, blocked.JobNumber, "missing job_number")
	assert.Nil(t, blocked.StartedAt, "null started_at")
	assert.Nil(t, blocked.StoppedAt, "missing stopped_at")
	assert.Equal(t, "waiting_for_godot", blocked.Status)
	assert.False(t, IsTerminalJobStatus(blocked.Status))
	assert.Equal(t, map[string][]string{"7d2f0000-0000-4000-8000-000000000002": {"success"}}, blocked.Requires)
	assert.Equal(t, jobBlockedJSON, string(blocked.Raw))

	// Raw is not serialised with the model, and WorkflowID is not either.
	b, err := json.Marshal(blocked)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "WorkflowID")
	assert.NotContains(t, string(b), "Raw")
}

func TestDecodeCollaborationsBothSpellings(t *testing.T) {
	c, _, _ := newTestClient(t, jsonBody(200, collaborationsJSON))
	cs, err := c.Collaborations(context.Background())
	require.NoError(t, err)
	require.Len(t, cs, 3)
	assert.Equal(t, "github", cs[0].VCSType, "vcs_type")
	assert.Equal(t, "circleci", cs[1].VCSType, "vcs-type")
	assert.Equal(t, "circleci/UjR2dkLm7VZ3cS1pQ9wXyZ", cs[1].Slug)
	assert.Nil(t, cs[2].ID, "null id")
	require.NotNil(t, cs[0].ID)
	assert.Equal(t, "ec6887ec-7d44-4b31-b468-7e552408ee32", *cs[0].ID)
	assert.True(t, strings.HasPrefix(string(cs[1].Raw), `{ "id": "0c8f6a1e`))
}

func TestDecodeEmptyArrays(t *testing.T) {
	c, _, _ := newTestClient(t, jsonBody(200, `[]`))
	cs, err := c.Collaborations(context.Background())
	require.NoError(t, err)
	assert.NotNil(t, cs)
	assert.Empty(t, cs)
	fp, err := c.FollowedProjects(context.Background())
	require.NoError(t, err)
	assert.NotNil(t, fp)
	assert.Empty(t, fp)
}

func TestDecodeProjectAndUser(t *testing.T) {
	c, _, _ := newTestClient(t, jsonBody(200, projectJSON))
	p, err := c.Project(context.Background(), "gh/acme/widgets")
	require.NoError(t, err)
	assert.Equal(t, Project{
		ID:               "1b2c3d4e-0000-4000-8000-000000000000",
		Slug:             "gh/acme/widgets",
		Name:             "widgets",
		OrganizationName: "acme",
		OrganizationSlug: "gh/acme",
		OrganizationID:   "ec6887ec-7d44-4b31-b468-7e552408ee32",
		VCSInfo:          VCSInfo{VCSURL: "https://github.com/acme/widgets", Provider: "GitHub", DefaultBranch: "main"},
		Raw:              json.RawMessage(projectJSON),
	}, p)

	c, _, _ = newTestClient(t, jsonBody(200, `{"id":"u1","login":"ghost","name":"","avatar_url":null,"extra":{"new":"field"}}`))
	u, err := c.User(context.Background(), "u1")
	require.NoError(t, err)
	assert.Equal(t, "ghost", u.Login)
	assert.Nil(t, u.AvatarURL)
	assert.Contains(t, string(u.Raw), `"extra":{"new":"field"}`, "unknown fields kept in Raw")
}

func TestDecodeFollowedProjects(t *testing.T) {
	c, _, _ := newTestClient(t, jsonBody(200, followedProjectsJSON))
	fps, err := c.FollowedProjects(context.Background())
	require.NoError(t, err)
	require.Len(t, fps, 2)
	assert.Equal(t, "gh/acme/widgets", fps[0].Slug())
	assert.Equal(t, "circleci/43G3kM5RtfFE7v5sa4nWAU/44n9pujWcTnVZ2b5S8Fnat", fps[1].Slug())
	assert.Contains(t, string(fps[0].Raw), `"branches"`)
}

func TestFollowedProjectSlug(t *testing.T) {
	tests := []struct {
		name string
		fp   FollowedProject
		want string
	}{
		{"github", FollowedProject{VCSURL: "https://github.com/acme/widgets", Username: "acme", Reponame: "widgets"}, "gh/acme/widgets"},
		{"github from url only", FollowedProject{VCSURL: "https://github.com/acme/widgets.git"}, "gh/acme/widgets"},
		{"github www and case", FollowedProject{VCSURL: "https://WWW.GitHub.com/Acme/Widgets"}, "gh/Acme/Widgets"},
		{"github scp-like", FollowedProject{VCSURL: "git@github.com:acme/widgets.git"}, "gh/acme/widgets"},
		{"bitbucket", FollowedProject{VCSURL: "https://bitbucket.org/ws/repo", Username: "ws", Reponame: "repo"}, "bb/ws/repo"},
		{"circleci scheme-relative", FollowedProject{VCSURL: "//circleci.com/43G3kM5RtfFE7v5sa4nWAU/44n9pujWcTnVZ2b5S8Fnat", Username: "acme", Reponame: "name"},
			"circleci/43G3kM5RtfFE7v5sa4nWAU/44n9pujWcTnVZ2b5S8Fnat"},
		{"circleci https", FollowedProject{VCSURL: "https://circleci.com/org-id/proj-id"}, "circleci/org-id/proj-id"},
		{"circleci too short", FollowedProject{VCSURL: "//circleci.com/org-id"}, ""},
		{"ghe on server by vcs_type", FollowedProject{VCSURL: "https://ghe.acme.internal/acme/widgets", Username: "acme", Reponame: "widgets", VCSType: "github"}, "gh/acme/widgets"},
		{"bitbucket server by vcs_type", FollowedProject{VCSURL: "https://bb.acme.internal/ws/repo", VCSType: "Bitbucket"}, "bb/ws/repo"},
		{"other vcs_type lowercased", FollowedProject{VCSURL: "https://git.example/o/r", Username: "o", Reponame: "r", VCSType: "GitLab"}, "gitlab/o/r"},
		{"circleci vcs_type on another host", FollowedProject{VCSURL: "//server.local/org/proj", VCSType: "circleci"}, "circleci/org/proj"},
		{"unknown host, no vcs_type", FollowedProject{VCSURL: "https://git.example/o/r", Username: "o", Reponame: "r"}, ""},
		{"empty", FollowedProject{}, ""},
		{"garbage url", FollowedProject{VCSURL: "%%%", VCSType: "github"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.fp.Slug())
		})
	}
}
