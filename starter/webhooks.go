package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/webhook/receiver"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// maxProjectWebhooks is CircleCI's limit of outbound webhooks per project.
const maxProjectWebhooks = 5

// webhookEvents are the events registered: all CircleCI sends.
var webhookEvents = []string{"workflow-completed", "job-completed"}

// webhooksFlags are the flags of `starter webhooks register|list|delete`.
type webhooksFlags struct {
	connection, url, baseURL, tokenEnv, org string
	projects                                stringList
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// runWebhooks manages the connection's project webhooks: register (idempotent),
// list or delete those pointing at the receiver's URL.
func runWebhooks(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "register" && args[0] != "list" && args[0] != "delete") {
		return usageError{errors.New("usage: starter webhooks register|list|delete -connection ID -url https://host [-project slug]... [-org slug]")}
	}
	verb := args[0]
	f, err := parseWebhooksFlags(args[1:], stderr)
	if err != nil {
		return err
	}
	token := os.Getenv(f.tokenEnv)
	if token == "" {
		return fmt.Errorf("the environment variable %s (the CircleCI token) is not set", f.tokenEnv)
	}
	client, err := circleci.New(circleci.Options{BaseURL: f.baseURL, Token: token})
	if err != nil {
		return err
	}
	projects := []string(f.projects)
	if len(projects) == 0 {
		if projects, err = projectSlugs(ctx, client, f.org); err != nil {
			return err
		}
	}
	var secret string
	if verb == "register" {
		if secret, err = signingSecret(f.connection); err != nil {
			return err
		}
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROJECT\tWEBHOOK\tNAME\tURL\tEVENTS\tUPDATED\tRESULT")
	var failed error
	for _, slug := range projects {
		if err := webhooksOfProject(ctx, client, verb, slug, f, secret, tw); err != nil {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t%v\n", slug, err)
			failed = errors.Join(failed, fmt.Errorf("%s: %w", slug, err))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return failed
}

func parseWebhooksFlags(args []string, stderr io.Writer) (webhooksFlags, error) {
	var f webhooksFlags
	fs := flag.NewFlagSet("starter webhooks", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.connection, "connection", "", "connection id (required): the URL path and the secrets file's name")
	fs.StringVar(&f.url, "url", "", "the receiver's public base URL, https (required); webhooks go to <url>/circleci/<connection>")
	fs.Var(&f.projects, "project", "project slug (repeatable; default: the projects -list finds, within -org)")
	fs.StringVar(&f.org, "org", "", "organization slug restricting the discovered projects")
	fs.StringVar(&f.baseURL, "base-url", envOr("CIRCLECI_BASE_URL", workflows.DefaultBaseURL), "CircleCI base URL (env CIRCLECI_BASE_URL)")
	fs.StringVar(&f.tokenEnv, "token-env", workflows.DefaultTokenEnv, "environment variable holding an organization admin's CircleCI token")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return f, err
		}
		return f, usageError{err}
	}
	if !receiver.ValidConnectionID(f.connection) {
		return f, usageError{fmt.Errorf("-connection %q: want letters, digits, '.', '_', '-'", f.connection)}
	}
	u, err := url.Parse(f.url)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return f, usageError{fmt.Errorf("-url %q: want the receiver's https base URL (CircleCI delivers to https only)", f.url)}
	}
	f.url = strings.TrimRight(f.url, "/") + receiver.RoutePrefix + f.connection
	return f, nil
}

// signingSecret is the connection's current secret, as the receiver finds it
// (the first line of its secrets file).
func signingSecret(connection string) (string, error) {
	s := receiver.Secrets{Global: os.Getenv("CIRCLECI_WEBHOOK_SECRET"), Dir: os.Getenv("CIRCLECI_WEBHOOK_SECRETS_DIR")}
	secrets, err := s.For(connection)
	if err != nil {
		return "", err
	}
	if len(secrets) == 0 {
		return "", errors.New("no signing secret: set CIRCLECI_WEBHOOK_SECRET or CIRCLECI_WEBHOOK_SECRETS_DIR as for the receiver")
	}
	return string(secrets[0]), nil
}
