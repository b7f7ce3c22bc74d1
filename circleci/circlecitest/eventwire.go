package circlecitest

// wireEvent is an outbound webhook's payload, as the docs' samples write it.
type wireEvent struct {
	ID           string            `json:"id"`
	Type         string            `json:"type"`
	HappenedAt   wireTime          `json:"happened_at"`
	Webhook      wireNamed         `json:"webhook"`
	Project      wireEventProject  `json:"project"`
	Organization wireNamed         `json:"organization"`
	Workflow     wireEventWorkflow `json:"workflow"`
	Pipeline     wireEventPipeline `json:"pipeline"`
	Job          *wireEventJob     `json:"job,omitempty"`
}

type wireNamed struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type wireEventProject struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
}

type wireEventWorkflow struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Status    string    `json:"status,omitempty"`
	CreatedAt wireTime  `json:"created_at"`
	StoppedAt *wireTime `json:"stopped_at,omitempty"`
	URL       string    `json:"url"`
}

type wireEventPipeline struct {
	ID                string                  `json:"id"`
	Number            int64                   `json:"number"`
	CreatedAt         wireTime                `json:"created_at"`
	Trigger           wireEventTrigger        `json:"trigger"`
	TriggerParameters *wireEventTriggerParams `json:"trigger_parameters,omitempty"`
	VCS               *wireEventVCS           `json:"vcs,omitempty"`
}

type wireEventTrigger struct {
	Type string `json:"type"`
}

type wireEventVCS struct {
	ProviderName        string           `json:"provider_name"`
	OriginRepositoryURL string           `json:"origin_repository_url"`
	TargetRepositoryURL string           `json:"target_repository_url"`
	Revision            string           `json:"revision"`
	Commit              *wireEventCommit `json:"commit,omitempty"`
	Branch              string           `json:"branch,omitempty"`
	Tag                 string           `json:"tag,omitempty"`
}

type wireEventCommit struct {
	Subject     string   `json:"subject"`
	Body        string   `json:"body"`
	AuthoredAt  wireTime `json:"authored_at"`
	CommittedAt wireTime `json:"committed_at"`
}

type wireEventTriggerParams struct {
	CircleCI wireEventCircleCI `json:"circleci"`
	Git      wireEventGit      `json:"git"`
	GitLab   map[string]any    `json:"gitlab"`
}

type wireEventCircleCI struct {
	EventTime   string `json:"event_time"`
	EventType   string `json:"event_type"`
	TriggerType string `json:"trigger_type"`
	ActorID     string `json:"actor_id,omitempty"`
}

type wireEventGit struct {
	Tag         string `json:"tag,omitempty"`
	CheckoutSHA string `json:"checkout_sha"`
	Ref         string `json:"ref"`
	Branch      string `json:"branch,omitempty"`
	CheckoutURL string `json:"checkout_url"`
}

type wireEventJob struct {
	ID        string    `json:"id"`
	Number    int64     `json:"number"`
	Name      string    `json:"name"`
	Status    string    `json:"status"`
	StartedAt *wireTime `json:"started_at,omitempty"`
	StoppedAt *wireTime `json:"stopped_at,omitempty"`
}
