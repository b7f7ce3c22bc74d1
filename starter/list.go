package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/circleci/webhooks"
)

// listConfig is what -list needs.
type listConfig struct {
	BaseURL  string
	TokenEnv string
	OrgSlug  string
	MaxPages int
}

// listConnection prints who the token belongs to, its organizations, the projects to
// sync (followed projects, plus the projects of the organization's recent pipelines)
// and, for each, its pipeline count over at most MaxPages pages and its newest pipeline.
func listConnection(ctx context.Context, cfg listConfig, out io.Writer) error {
	token := os.Getenv(cfg.TokenEnv)
	if token == "" {
		return fmt.Errorf("the environment variable %s (the CircleCI token) is not set", cfg.TokenEnv)
	}
	client, err := circleci.New(circleci.Options{BaseURL: cfg.BaseURL, Token: token})
	if err != nil {
		return err
	}
	me, err := client.Me(ctx)
	if err != nil {
		return fmt.Errorf("checking the token with /me: %w", err)
	}
	fmt.Fprintf(out, "CircleCI %s as %s (%s)\n", client.BaseURL(), me.Login, me.ID)

	collabs, err := client.Collaborations(ctx)
	if err != nil {
		return fmt.Errorf("listing organizations: %w", err)
	}
	fmt.Fprintf(out, "\nOrganizations (%d):\n", len(collabs))
	for _, c := range collabs {
		id := "(no CircleCI id)"
		if c.ID != nil {
			id = *c.ID
		}
		fmt.Fprintf(out, "  %-40s %-9s %s\n", c.Slug, c.VCSType, id)
	}

	slugs, err := projectSlugs(ctx, client, cfg.OrgSlug)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nProjects (%d):\n", len(slugs))
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  SLUG\tNAME\tPIPELINES\tNEWEST\tCREATED")
	for _, slug := range slugs {
		p, err := client.Project(ctx, slug)
		if err != nil {
			fmt.Fprintf(tw, "  %s\t-\t-\t-\t%v\n", slug, err)
			continue
		}
		n, newest, more, err := countPipelines(ctx, client, slug, cfg.MaxPages)
		if err != nil {
			fmt.Fprintf(tw, "  %s\t%s\t-\t-\t%v\n", slug, p.Name, err)
			continue
		}
		count := fmt.Sprint(n)
		if more {
			count += "+"
		}
		if newest == nil {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t-\t-\n", slug, p.Name, count)
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t#%d %s\t%s\n", slug, p.Name, count, newest.Number, newest.State, newest.CreatedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}

// projectSlugs returns the sorted, distinct slugs of the followed projects and of the
// projects of the organization's recent pipelines (first page), restricted to orgSlug
// when it is set.
func projectSlugs(ctx context.Context, client *circleci.Client, orgSlug string) ([]string, error) {
	followed, err := client.FollowedProjects(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing followed projects: %w", err)
	}
	var slugs []string
	for _, f := range followed {
		if s := f.Slug(); s != "" && (orgSlug == "" || webhooks.InOrg(orgSlug, s)) {
			slugs = append(slugs, s)
		}
	}
	if orgSlug != "" {
		page, err := client.OrgPipelinesPage(ctx, orgSlug, "")
		if err != nil {
			return nil, fmt.Errorf("listing pipelines of %s: %w", orgSlug, err)
		}
		for _, p := range page.Items {
			slugs = append(slugs, p.ProjectSlug)
		}
	}
	slices.Sort(slugs)
	return slices.Compact(slugs), nil
}

// countPipelines counts a project's pipelines over at most maxPages pages and returns
// the newest one (nil when there is none) and whether more pages remain.
func countPipelines(ctx context.Context, client *circleci.Client, slug string, maxPages int) (int, *circleci.Pipeline, bool, error) {
	var n int
	var newest *circleci.Pipeline
	token := ""
	for range maxPages {
		page, err := client.ProjectPipelinesPage(ctx, slug, "", token)
		if err != nil {
			return 0, nil, false, err
		}
		if newest == nil && len(page.Items) > 0 {
			newest = &page.Items[0]
		}
		n += len(page.Items)
		if page.NextPageToken == "" {
			return n, newest, false, nil
		}
		token = page.NextPageToken
	}
	return n, newest, true, nil
}
