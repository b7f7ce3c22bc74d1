// Command starter talks to CircleCI on behalf of a connection.
//
// Today it lists what a connection would sync (-list): who the token belongs to, the
// organizations it sees, the projects it follows and the newest pipelines of each.
// Starting a sync on Temporal comes with the workflows (see README, "Status").
//
//	starter -list -base-url https://circleci.com -token-env CIRCLECI_TOKEN -org gh/acme
//
// The token is read from the environment variable named by -token-env (default
// CIRCLECI_TOKEN), never from a flag, so it stays out of shell history and process
// listings.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "starter:", err)
		os.Exit(1)
	}
}

// run parses the flags and does what they ask.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("starter", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg listConfig
	list := fs.Bool("list", false, "list what the connection would sync and exit")
	fs.StringVar(&cfg.BaseURL, "base-url", envOr("CIRCLECI_BASE_URL", "https://circleci.com"), "CircleCI base URL: cloud or a CircleCI Server host (env CIRCLECI_BASE_URL)")
	fs.StringVar(&cfg.TokenEnv, "token-env", "CIRCLECI_TOKEN", "name of the environment variable holding the CircleCI personal API token")
	fs.StringVar(&cfg.OrgSlug, "org", os.Getenv("CIRCLECI_ORG"), "organization slug, such as gh/acme or circleci/<org-id> (env CIRCLECI_ORG); empty: every organization the token sees")
	fs.IntVar(&cfg.MaxPages, "max-pages", 5, "most pipeline pages to read per project (20 pipelines a page)")
	fs.DurationVar(&cfg.Timeout, "timeout", 2*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !*list {
		fs.Usage()
		return errors.New("nothing to do: pass -list (starting syncs on Temporal is not built yet)")
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	return listConnection(ctx, cfg, stdout)
}

// envOr returns the environment variable name's value, or def when it is empty.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
