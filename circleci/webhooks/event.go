package webhooks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Event types CircleCI sends, and the header that names them.
const (
	WorkflowCompleted = "workflow-completed"
	JobCompleted      = "job-completed"
	EventTypeHeader   = "circleci-event-type"
)

// Event is a delivery's payload. The payloads are open maps: fields not
// listed here are ignored.
type Event struct {
	ID           string    `json:"id"`
	Type         string    `json:"type"`
	HappenedAt   time.Time `json:"happened_at"`
	Webhook      Named     `json:"webhook"`
	Project      Project   `json:"project"`
	Organization Named     `json:"organization"`
	Workflow     Workflow  `json:"workflow"`
	Pipeline     Pipeline  `json:"pipeline"`
	Job          *Job      `json:"job,omitempty"`
}

// Named is an entity with an id and a name (webhook, organization).
type Named struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Project is the event's project; Slug is in the long form ("github/org/repo").
type Project struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
}

// Workflow is the event's workflow (no status in job-completed events).
type Workflow struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Status    string     `json:"status,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	StoppedAt *time.Time `json:"stopped_at,omitempty"`
	URL       string     `json:"url"`
}

// Pipeline is the event's pipeline: VCS for GitHub OAuth and Bitbucket Cloud
// projects, TriggerParameters for GitLab, GitHub App and Bitbucket DC ones.
type Pipeline struct {
	ID        string    `json:"id"`
	Number    int64     `json:"number"`
	CreatedAt time.Time `json:"created_at"`
	Trigger   struct {
		Type string `json:"type"`
	} `json:"trigger"`
	VCS               *VCS               `json:"vcs,omitempty"`
	TriggerParameters *TriggerParameters `json:"trigger_parameters,omitempty"`
}

// VCS is a pipeline's version control information (pipeline.vcs).
type VCS struct {
	ProviderName string `json:"provider_name"`
	Revision     string `json:"revision"`
	Branch       string `json:"branch,omitempty"`
	Tag          string `json:"tag,omitempty"`
}

// TriggerParameters is pipeline.trigger_parameters; only its git part is read.
type TriggerParameters struct {
	Git *struct {
		Branch      string `json:"branch,omitempty"`
		Tag         string `json:"tag,omitempty"`
		Ref         string `json:"ref,omitempty"`
		CheckoutSHA string `json:"checkout_sha,omitempty"`
	} `json:"git,omitempty"`
}

// Job is the job of a job-completed event.
type Job struct {
	ID        string     `json:"id"`
	Number    int64      `json:"number"`
	Name      string     `json:"name"`
	Status    string     `json:"status"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	StoppedAt *time.Time `json:"stopped_at,omitempty"`
}

// MaxSlugBytes bounds an event's project slug.
const MaxSlugBytes = 256

// ErrNotEvent is wrapped by Parse's errors: the body is not a usable event.
var ErrNotEvent = errors.New("webhooks: not an event")

var (
	idPattern   = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)
	uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// Parse decodes body as an event. Its Type is job-completed when a job is
// present, else the body's type, else headerType. Events of the two known
// types must carry a project slug and pipeline and workflow UUIDs; other types
// need only an id (Known tells them apart).
func Parse(body []byte, headerType string) (Event, error) {
	var ev Event
	if !bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{")) {
		return Event{}, fmt.Errorf("%w: not a JSON object", ErrNotEvent)
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return Event{}, fmt.Errorf("%w: invalid JSON", ErrNotEvent)
	}
	switch {
	case ev.Job != nil:
		ev.Type = JobCompleted
	case ev.Type == "":
		ev.Type = headerType
	}
	if !idPattern.MatchString(ev.ID) {
		return Event{}, fmt.Errorf("%w: id missing or malformed", ErrNotEvent)
	}
	if ev.Type == "" {
		return Event{}, fmt.Errorf("%w: no type", ErrNotEvent)
	}
	if !ev.Known() {
		return ev, nil
	}
	if ev.Project.Slug == "" || len(ev.Project.Slug) > MaxSlugBytes {
		return Event{}, fmt.Errorf("%w: project slug missing or too long", ErrNotEvent)
	}
	if !uuidPattern.MatchString(ev.Pipeline.ID) || !uuidPattern.MatchString(ev.Workflow.ID) {
		return Event{}, fmt.Errorf("%w: pipeline or workflow id is not a UUID", ErrNotEvent)
	}
	return ev, nil
}

// Known reports whether the event is of a type the sync uses.
func (ev Event) Known() bool {
	return ev.Type == WorkflowCompleted || ev.Type == JobCompleted
}
