package circlecitest

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// paths lists a sample of every route, second pages included.
func samplePaths(t *testing.T, s *Server) []string {
	t.Helper()
	d := s.Dataset()
	paths := []string{"/api/v2/me", "/api/v2/me/collaborations", "/api/v2/pipeline",
		"/api/v2/pipeline?org-slug=gh/acme", "/api/v1.1/projects"}
	var p page
	get(t, s, "/api/v2/pipeline", &p)
	require.NotNil(t, p.NextPageToken)
	paths = append(paths, withQuery("/api/v2/pipeline", "page-token", *p.NextPageToken))
	for _, proj := range d.Projects {
		paths = append(paths, projectPath(proj.Slug), projectPath(proj.Slug)+"/pipeline")
	}
	for _, pl := range d.Pipelines[:10] {
		paths = append(paths, "/api/v2/pipeline/"+pl.ID, "/api/v2/pipeline/"+pl.ID+"/workflow")
	}
	for _, wf := range d.Workflows[:10] {
		paths = append(paths, "/api/v2/workflow/"+wf.ID, "/api/v2/workflow/"+wf.ID+"/job")
	}
	for _, u := range d.Users {
		paths = append(paths, "/api/v2/user/"+u.ID)
	}
	return paths
}

func TestSameSeedSameBytes(t *testing.T) {
	a := NewServer(Options{Seed: 7})
	defer a.Close()
	b := NewServer(Options{Seed: 7})
	defer b.Close()
	paths := samplePaths(t, a)
	require.Equal(t, paths, samplePaths(t, b))
	for _, p := range paths {
		ra, rb := call(t, a, p, a.Token()), call(t, b, p, b.Token())
		require.Equal(t, http.StatusOK, ra.status, p)
		require.Equal(t, string(ra.body), string(rb.body), p)
	}
	assert.Equal(t, a.Dataset(), b.Dataset())

	// Advancing both the same way keeps them identical.
	adv := Advance{NewPipelines: 4, FinishRunning: true, Reruns: 2, Step: 90 * time.Minute}
	assert.Equal(t, a.Advance(adv), b.Advance(adv))
	assert.Equal(t, a.Dataset(), b.Dataset())
	for _, p := range samplePaths(t, a) {
		assert.Equal(t, string(call(t, a, p, a.Token()).body), string(call(t, b, p, b.Token()).body), p)
	}
}

func TestDifferentSeedDifferentData(t *testing.T) {
	a := NewHandler(Options{Seed: 1}).Dataset()
	b := NewHandler(Options{Seed: 2}).Dataset()
	assert.NotEqual(t, a.Pipelines[0].ID, b.Pipelines[0].ID)
	assert.NotEqual(t, a.Users[0].ID, b.Users[0].ID)
}

func TestDatasetShape(t *testing.T) {
	s := NewHandler(Options{Seed: 3})
	d := s.Dataset()
	o := s.Options()
	require.Len(t, d.Projects, DefaultProjects)
	require.Len(t, d.Pipelines, DefaultProjects*DefaultPipelinesPerProject)
	require.Len(t, d.Users, DefaultUsers)
	assert.Equal(t, DefaultNow, d.Now)
	assert.Equal(t, DefaultToken, o.Token)

	// Slug styles.
	assert.Regexp(t, `^gh/acme/[a-z-]+$`, d.Projects[0].Slug)
	assert.Regexp(t, `^bb/acme/[a-z-]+$`, d.Projects[1].Slug)
	assert.Regexp(t, `^circleci/[1-9A-HJ-NP-Za-km-z]{22}/[1-9A-HJ-NP-Za-km-z]{22}$`, d.Projects[2].Slug)

	count := map[string]int{}
	jobsOf := map[string]int{}
	for _, j := range d.Jobs {
		jobsOf[j.WorkflowID]++
		count["job "+j.Status]++
		count["type "+j.Type]++
		assert.True(t, j.StartedAt == nil || j.StartedAt.Before(d.Now), "job %s started after now", j.ID)
		assert.True(t, j.StoppedAt == nil || !j.StoppedAt.After(d.Now), "job %s stopped after now", j.ID)
		if j.StartedAt != nil && j.StoppedAt != nil {
			assert.False(t, j.StoppedAt.Before(*j.StartedAt), "job %s stops before it starts", j.ID)
		}
		if j.StartedAt == nil || j.Type == jobTypeApproval {
			assert.Nil(t, j.JobNumber, "job %s", j.ID)
		} else {
			assert.NotNil(t, j.JobNumber, "job %s", j.ID)
		}
		if j.Type == jobTypeApproval {
			assert.Equal(t, j.ID, j.ApprovalRequestID)
			if j.Status == jobStatusSuccess {
				assert.NotEmpty(t, j.ApprovedBy)
			}
		}
	}
	for _, w := range d.Workflows {
		count["wf "+w.Status]++
		assert.True(t, w.CreatedAt.Before(d.Now))
		assert.Equal(t, isTerminalWorkflow(w.Status), w.StoppedAt != nil, "workflow %s %s", w.ID, w.Status)
		assert.NotEmpty(t, w.StartedBy)
		if w.Status == workflowStatusCanceled {
			assert.NotEmpty(t, w.CanceledBy)
		}
		if w.Status == workflowStatusError {
			assert.NotEmpty(t, w.ErroredBy)
		}
		assert.Positive(t, jobsOf[w.ID])
	}
	for _, p := range d.Pipelines {
		count["trigger "+p.Trigger.Type]++
		count["state "+p.State]++
		assert.True(t, p.CreatedAt.Before(d.Now))
		assert.False(t, p.UpdatedAt.Before(p.CreatedAt))
		if p.Trigger.Type == triggerScheduled {
			assert.Equal(t, "system-actor", p.Trigger.Actor.Login)
		}
		switch {
		case p.VCS == nil:
			count["no vcs"]++
			require.NotNil(t, p.TriggerParameters)
			require.NotNil(t, p.TriggerParameters.Git)
		case p.VCS.Tag != "":
			count["tag"]++
			assert.Empty(t, p.VCS.Branch)
		default:
			assert.NotEmpty(t, p.VCS.Branch)
		}
	}
	for _, k := range []string{"wf success", "wf failed", "wf canceled", "wf error", "wf running", "wf on_hold",
		"wf failing", "job running", "job queued", "job blocked", "job on_hold", "job not_run", "job canceled",
		"type approval", "type build", "trigger webhook", "trigger api", "trigger scheduled_pipeline",
		"trigger explicit", "state errored", "no vcs", "tag"} {
		assert.Positive(t, count[k], k)
	}
	var big int
	for _, n := range jobsOf {
		if n > PageSize {
			big++
		}
	}
	assert.Positive(t, big, "some job lists span two pages")

	// Users: some null avatars.
	var nullAvatar int
	for _, u := range d.Users {
		if u.AvatarURL == nil {
			nullAvatar++
		}
	}
	assert.Positive(t, nullAvatar)

	// Collaborations: one with a null id; followed circleci project url.
	var nullID int
	for _, c := range d.Collaborations {
		if c.ID == nil {
			nullID++
		}
	}
	assert.Equal(t, 1, nullID)
	assert.Regexp(t, `^//circleci\.com/[1-9A-Za-z]{22}/[1-9A-Za-z]{22}$`, d.FollowedProjects[2].VCSURL)
}

func TestDatasetIsADeepCopy(t *testing.T) {
	s := NewHandler(Options{})
	d := s.Dataset()
	d.Pipelines[0].Errors = append(d.Pipelines[0].Errors, PipelineError{Type: "x"})
	d.Jobs[0].Dependencies = append(d.Jobs[0].Dependencies, "x")
	*d.Users[0].AvatarURL = "changed"
	again := s.Dataset()
	assert.NotEqual(t, d.Pipelines[0].Errors, again.Pipelines[0].Errors)
	assert.NotEqual(t, d.Jobs[0].Dependencies, again.Jobs[0].Dependencies)
	assert.NotEqual(t, "changed", *again.Users[0].AvatarURL)
}
