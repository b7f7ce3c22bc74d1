// Package workflows holds circleci-sync's Temporal workflows: ConnectionSync, one
// per CircleCI connection, and ProjectSync, one child per project.
//
// Workflows are deterministic and small: they carry cursors and counts, never page
// contents or tokens; the activities (package activities) do all I/O.
//
// Files: names.go (type names, task queue, workflow IDs, query names), input.go
// (ConnectionSyncInput and its validation), duration.go (Duration), connection.go
// (ConnectionSync), project.go (ProjectSync), options.go (activity options and
// retry policies).
package workflows

import "strings"

// Registered workflow type names: what `temporal workflow start --type` takes.
const (
	// ConnectionSyncName is the type of the per-connection parent workflow.
	ConnectionSyncName = "ConnectionSync"
	// ProjectSyncName is the type of the per-project child workflow.
	ProjectSyncName = "ProjectSync"
)

// DefaultTaskQueue is the task queue the worker polls and syncs are started on.
const DefaultTaskQueue = "circleci-sync"

// WorkflowIDPrefix starts every workflow ID circleci-sync uses.
const WorkflowIDPrefix = "circleci-sync/"

// ConnectionWorkflowID is the workflow ID of a connection's sync:
// "circleci-sync/<connection_id>".
func ConnectionWorkflowID(connectionID string) string {
	return WorkflowIDPrefix + connectionID
}

// ProjectWorkflowID is the workflow ID of a project's sync within a connection:
// "circleci-sync/<connection_id>/<project-slug>".
func ProjectWorkflowID(connectionID, projectSlug string) string {
	return WorkflowIDPrefix + connectionID + "/" + strings.TrimSpace(projectSlug)
}
