package workflows

import (
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Register registers ConnectionSync and ProjectSync under their type names
// (ConnectionSyncName, ProjectSyncName) with a worker or a replayer.
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(ConnectionSync, workflow.RegisterOptions{Name: ConnectionSyncName})
	r.RegisterWorkflowWithOptions(ProjectSync, workflow.RegisterOptions{Name: ProjectSyncName})
}
