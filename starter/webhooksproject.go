package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// webhooksOfProject does verb for one project, writing a row per webhook.
func webhooksOfProject(ctx context.Context, c *circleci.Client, verb, slug string, f webhooksFlags, secret string, out io.Writer) error {
	p, err := c.Project(ctx, slug)
	if err != nil {
		return adminError(err)
	}
	hooks, err := projectWebhooks(ctx, c, p.ID)
	if err != nil {
		return adminError(err)
	}
	ours := slices.IndexFunc(hooks, func(h circleci.Webhook) bool { return h.URL == f.url })
	switch {
	case verb == "list":
		for _, h := range hooks {
			printWebhook(out, slug, h, "")
		}
	case verb == "delete" && ours >= 0:
		if err := c.DeleteWebhook(ctx, hooks[ours].ID); err != nil {
			return adminError(err)
		}
		printWebhook(out, slug, hooks[ours], "deleted")
	case verb == "delete":
		fmt.Fprintf(out, "%s\t-\t-\t%s\t-\t-\tnone\n", slug, f.url)
	case ours >= 0:
		printWebhook(out, slug, hooks[ours], "exists")
	case len(hooks) >= maxProjectWebhooks:
		return fmt.Errorf("the project has %d outbound webhooks, CircleCI's limit: delete one first", len(hooks))
	default:
		return registerWebhook(ctx, c, p, f, secret, out)
	}
	return nil
}

// registerWebhook creates the connection's webhook on p; after a failed POST
// it lists again, in case the webhook was created all the same.
func registerWebhook(ctx context.Context, c *circleci.Client, p circleci.Project, f webhooksFlags, secret string, out io.Writer) error {
	h, err := c.CreateWebhook(ctx, circleci.NewWebhook{
		Name: "circleci-sync " + f.connection, Events: webhookEvents, URL: f.url, VerifyTLS: true,
		SigningSecret: secret, Scope: circleci.WebhookScope{ID: p.ID, Type: "project"},
	})
	if err != nil {
		hooks, lerr := projectWebhooks(ctx, c, p.ID)
		if i := slices.IndexFunc(hooks, func(h circleci.Webhook) bool { return h.URL == f.url }); lerr == nil && i >= 0 {
			printWebhook(out, p.Slug, hooks[i], "created")
			return nil
		}
		return adminError(err)
	}
	printWebhook(out, p.Slug, h, "created")
	return nil
}

// projectWebhooks lists every webhook of the project with UUID id.
func projectWebhooks(ctx context.Context, c *circleci.Client, id string) ([]circleci.Webhook, error) {
	var all []circleci.Webhook
	fetch := func(ctx context.Context, token string) (circleci.Page[circleci.Webhook], error) {
		return c.ProjectWebhooksPage(ctx, id, token)
	}
	for page, err := range circleci.Pages(ctx, fetch) {
		if err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
	}
	return all, nil
}

func printWebhook(out io.Writer, slug string, h circleci.Webhook, result string) {
	fmt.Fprintf(out, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", slug, h.ID, h.Name, h.URL, strings.Join(h.Events, ","), h.UpdatedAt, result)
}

// adminError explains a 403: outbound webhooks need an organization admin.
func adminError(err error) error {
	var e *circleci.Error
	if errors.As(err, &e) && e.Class == circleci.ClassForbidden {
		return fmt.Errorf("outbound webhooks need an organization admin's token: %w", err)
	}
	return err
}
