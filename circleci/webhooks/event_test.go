package webhooks

import (
	"errors"
	"os"
	"testing"
)

func readFile(name string) ([]byte, error) { return os.ReadFile("testdata/" + name) }

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := readFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseSamples(t *testing.T) {
	cases := []struct {
		file, typ, slug, short string
		vcs, params, job       bool
	}{
		{"workflow-completed-vcs.json", WorkflowCompleted, "github/acme/api", "gh/acme/api", true, false, false},
		{"job-completed-vcs.json", JobCompleted, "github/acme/api", "gh/acme/api", true, false, true},
		{"workflow-completed-trigger-parameters.json", WorkflowCompleted,
			"circleci/Hq3xTnB4dWvL9pK2rZ/7YfM1cQ8sNvE5uJ6aGk", "circleci/Hq3xTnB4dWvL9pK2rZ/7YfM1cQ8sNvE5uJ6aGk", false, true, false},
		// The docs' GitLab job sample says "type":"workflow-completed": the job decides.
		{"job-completed-trigger-parameters.json", JobCompleted,
			"circleci/Hq3xTnB4dWvL9pK2rZ/7YfM1cQ8sNvE5uJ6aGk", "circleci/Hq3xTnB4dWvL9pK2rZ/7YfM1cQ8sNvE5uJ6aGk", false, true, true},
	}
	for _, c := range cases {
		ev, err := Parse(readSample(t, c.file), "")
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		if ev.Type != c.typ || ev.Project.Slug != c.slug || ShortSlug(ev.Project.Slug) != c.short || !ev.Known() {
			t.Errorf("%s: type %q slug %q", c.file, ev.Type, ev.Project.Slug)
		}
		if (ev.Pipeline.VCS != nil) != c.vcs || (ev.Pipeline.TriggerParameters != nil) != c.params || (ev.Job != nil) != c.job {
			t.Errorf("%s: vcs %v, trigger_parameters %v, job %v", c.file, ev.Pipeline.VCS, ev.Pipeline.TriggerParameters, ev.Job)
		}
		if ev.Pipeline.ID != "0b1c2d3e-0000-4000-8000-0000000000e1" || ev.Workflow.ID != "0b1c2d3e-0000-4000-8000-0000000000f1" {
			t.Errorf("%s: pipeline %q workflow %q", c.file, ev.Pipeline.ID, ev.Workflow.ID)
		}
	}
	ev, _ := Parse(readSample(t, "workflow-completed-trigger-parameters.json"), "")
	if g := ev.Pipeline.TriggerParameters.Git; g == nil || g.Branch != "main" || g.CheckoutSHA == "" {
		t.Errorf("trigger_parameters.git = %+v", g)
	}
	if ev, _ := Parse(readSample(t, "workflow-completed-vcs.json"), ""); ev.Pipeline.VCS.Branch != "main" || ev.Workflow.Status != "success" {
		t.Errorf("vcs = %+v, status %q", ev.Pipeline.VCS, ev.Workflow.Status)
	}
}

func TestParseRefuses(t *testing.T) {
	const wf = `"workflow":{"id":"0b1c2d3e-0000-4000-8000-0000000000f1"}`
	const pl = `"pipeline":{"id":"0b1c2d3e-0000-4000-8000-0000000000e1"}`
	const pr = `"project":{"slug":"gh/acme/api"}`
	for name, body := range map[string]string{
		"malformed docs sample": string(readSample(t, "job-completed-malformed.json")),
		"empty":                 "",
		"array":                 `[{"id":"a"}]`,
		"string":                `"workflow-completed"`,
		"null":                  `null`,
		"no id":                 `{"type":"workflow-completed",` + wf + `,` + pl + `,` + pr + `}`,
		"id with a slash":       `{"id":"a/b","type":"workflow-completed",` + wf + `,` + pl + `,` + pr + `}`,
		"no type":               `{"id":"a"}`,
		"no project":            `{"id":"a","type":"workflow-completed",` + wf + `,` + pl + `}`,
		"pipeline not a UUID":   `{"id":"a","type":"workflow-completed",` + wf + `,"pipeline":{"id":"../x"},` + pr + `}`,
		"no workflow":           `{"id":"a","type":"job-completed",` + pl + `,` + pr + `}`,
		"id of the wrong type":  `{"id":7,"type":"workflow-completed"}`,
		"trailing garbage":      `{"id":"a","type":"ping"} x`,
	} {
		if _, err := Parse([]byte(body), ""); !errors.Is(err, ErrNotEvent) {
			t.Errorf("%s: Parse = %v, want ErrNotEvent", name, err)
		}
	}
}

func TestParseOtherTypes(t *testing.T) {
	ev, err := Parse([]byte(`{"id":"p1","webhook":{"id":"w"}}`), "ping")
	if err != nil || ev.Type != "ping" || ev.Known() {
		t.Errorf("ping by header: %+v, %v", ev, err)
	}
	ev, err = Parse([]byte(`{"id":"p2","type":"workflow-started","extra":{"new":1}}`), JobCompleted)
	if err != nil || ev.Type != "workflow-started" || ev.Known() {
		t.Errorf("body type wins over the header: %+v, %v", ev, err)
	}
}
