// Package workflows holds circleci-sync's Temporal workflows: ConnectionSync, one
// per CircleCI connection, and ProjectSync, one child per project. They carry
// cursors and counts, never page contents or tokens; the activities do all I/O.
package workflows

import (
	"fmt"
	"strings"
)

// Registered workflow type names (`temporal workflow start --type`).
const (
	ConnectionSyncName = "ConnectionSync"
	ProjectSyncName    = "ProjectSync"
)

// DefaultTaskQueue is the task queue the worker polls and syncs are started on.
const DefaultTaskQueue = "circleci-sync"

// WorkflowIDPrefix starts every workflow ID circleci-sync uses.
const WorkflowIDPrefix = "circleci-sync/"

// ConnectionWorkflowID is "circleci-sync/<connection_id>".
func ConnectionWorkflowID(connectionID string) string {
	return WorkflowIDPrefix + connectionID
}

// ProjectWorkflowID is the workflow ID of a project's sync within a connection:
// "circleci-sync/<connection_id>/<project-slug>", the slug escaped by escapeID.
func ProjectWorkflowID(connectionID, projectSlug string) string {
	return WorkflowIDPrefix + connectionID + "/" + escapeID(projectSlug)
}

// escapeID percent-encodes bytes outside '!'..'~' and '%': an ID travels in a
// gRPC header (printable ASCII only), and two slugs never share one.
func escapeID(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < '!' || c > '~' || c == '%' {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// ScheduleID is the ID of a connection's Temporal Schedule (`starter
// schedule`); its syncs' workflow IDs are ConnectionWorkflowID plus the time.
func ScheduleID(connectionID string) string {
	return WorkflowIDPrefix + connectionID
}

// ConnectionSummary is a connection sync's StaticSummary for the Web UI.
func ConnectionSummary(in ConnectionSyncInput) string {
	return fmt.Sprintf("CircleCI sync of %s (connection %s)", in.OrgSlug, in.ConnectionID)
}

// ConnectionDetails is a connection sync's StaticDetails (Markdown, no secret).
func ConnectionDetails(in ConnectionSyncInput, startedBy string) string {
	in = in.withDefaults()
	projects := "discovered"
	if len(in.Projects) > 0 {
		projects = strings.Join(in.Projects, ", ")
	}
	since := in.Since
	if since == "" {
		since = "all history"
	}
	mode := "one cycle, then done (and the re-syncs requested meanwhile)"
	if in.Continuous {
		mode = "continuous, a cycle every " + in.Interval.String()
	}
	return fmt.Sprintf("Connection **%s**: organisation **%s** on %s, token from the worker's `$%s`.\n\n"+
		"- projects: %s (discovered again after %s)\n- first sync from: %s\n- at most %d projects at once\n"+
		"- incremental overlap %s, rerun window %s, users fresh for %s\n- mode: %s\n- started by: %s\n\n"+
		"Progress: `temporal workflow query --workflow-id %s --name %s`; re-sync: "+
		"`temporal workflow update execute --workflow-id %s --name %s`.",
		in.ConnectionID, in.OrgSlug, in.BaseURL, in.TokenEnv, projects, *in.RediscoverAfter, since, in.MaxConcurrentProjects,
		*in.Overlap, *in.RerunWindow, *in.UsersFreshFor, mode, startedBy,
		ConnectionWorkflowID(in.ConnectionID), ProgressQuery, ConnectionWorkflowID(in.ConnectionID), ResyncUpdate)
}
