package store

import (
	"fmt"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci"
)

var projectsTable = &table{
	name: "circleci_projects",
	cols: []column{
		{"slug", colText}, {"id", colText}, {"name", colText},
		{"organization_name", colText}, {"organization_slug", colText}, {"organization_id", colText},
		{"vcs_url", colText}, {"vcs_provider", colText}, {"default_branch", colText},
		{"raw", colJSON}, {"synced_at", colTime},
	},
	keyLen:        1,
	stamp:         "synced_at",
	skipIdentical: true,
}

var projectKind = kindOf(KindProject, "projects", projectsTable, "Projects",
	func(b Batch) []circleci.Project { return b.Projects }, projectRow)

// projectRow is the circleci_projects row of p.
func projectRow(p circleci.Project, now time.Time) ([]any, error) {
	if p.Slug == "" {
		return nil, fmt.Errorf("project (id %q): empty slug", p.ID)
	}
	raw, err := rawJSON(p.Raw)
	if err != nil {
		return nil, fmt.Errorf("project %q: %w", p.Slug, err)
	}
	return []any{
		p.Slug, p.ID, p.Name,
		p.OrganizationName, p.OrganizationSlug, p.OrganizationID,
		p.VCSInfo.VCSURL, p.VCSInfo.Provider, p.VCSInfo.DefaultBranch,
		raw, now,
	}, nil
}
