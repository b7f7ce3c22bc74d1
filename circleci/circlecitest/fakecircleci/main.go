// Command fakecircleci serves the fake CircleCI API of package circlecitest. Each flag
// may come from FAKECIRCLECI_<FLAG> (the command line wins). It prints BASE_URL= and
// TOKEN= lines on start; -addr 127.0.0.1:0 picks a free port.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "fakecircleci:", err)
		os.Exit(1)
	}
}

// config is what the flags set.
type config struct {
	addr string
	opts circlecitest.Options
	now  string
}

// oddAndInsightsFlags sets the flags of awkward names and of the Insights routes.
func oddAndInsightsFlags(fs *flag.FlagSet, o *circlecitest.Options) {
	fs.IntVar(&o.OddProjects, "odd-projects", 0, "extra projects with awkward names (%, spaces, unicode, quotes, SQL)")
	fs.BoolVar(&o.OddWorkflowNames, "odd-workflow-names", false, "odd projects' workflows get awkward names (spaces, '/', '%')")
	fs.DurationVar(&o.InsightsLag, "insights-lag", circlecitest.DefaultInsightsLag,
		"how long after it stops a run shows in Insights (negative: at once)")
}

// webhookFlags sets the flags of outbound webhooks and their delivery.
func webhookFlags(fs *flag.FlagSet, o *circlecitest.Options) {
	fs.BoolVar(&o.AllowHTTPWebhooks, "allow-http-webhooks", false, "accept http:// webhook URLs (CircleCI takes https only)")
	fs.BoolVar(&o.TokenNotAdmin, "token-not-admin", false, "the token is no org admin: creating, changing or deleting webhooks answers 403")
	fs.Float64Var(&o.Webhooks.DuplicateRate, "webhook-duplicates", 0, "probability that a webhook event is delivered twice")
	fs.BoolVar(&o.Webhooks.Reorder, "webhook-reorder", false, "shuffle the webhook events of each advance (seeded)")
	fs.DurationVar(&o.Webhooks.RetryBase, "webhook-retry-base", time.Second, "first retry delay of a webhook delivery, doubling up to 6 retries")
}

// corruptFlag sets -corrupt, a JSON array of corruptions.
func corruptFlag(fs *flag.FlagSet, f *circlecitest.Faults) {
	fs.Func("corrupt", `JSON array of corruptions, e.g. '[{"route":"workflow_jobs","kind":"truncated","first":3}]'`,
		func(v string) error {
			if strings.TrimSpace(v) == "" {
				f.Corrupt = nil
				return nil
			}
			return json.Unmarshal([]byte(v), &f.Corrupt)
		})
}

// parseFlags reads the flags, with FAKECIRCLECI_* environment variables as
// defaults.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("fakecircleci", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &c.opts
	f := &o.Faults
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "address to listen on (port 0: a free port)")
	fs.Int64Var(&o.Seed, "seed", 0, "seed of the dataset and of the random faults")
	fs.IntVar(&o.Projects, "projects", circlecitest.DefaultProjects, "number of projects")
	fs.IntVar(&o.PipelinesPerProject, "pipelines", circlecitest.DefaultPipelinesPerProject, "pipelines per project (negative: none)")
	fs.IntVar(&o.MaxWorkflowsPerPipeline, "workflows", circlecitest.DefaultMaxWorkflowsPerPipeline, "most workflows per pipeline")
	fs.IntVar(&o.MaxJobsPerWorkflow, "jobs", circlecitest.DefaultMaxJobsPerWorkflow, "most jobs per workflow")
	fs.IntVar(&o.Users, "users", circlecitest.DefaultUsers, "number of users")
	fs.StringVar(&c.now, "now", circlecitest.DefaultNow.Format(time.RFC3339), "dataset clock (RFC 3339)")
	fs.StringVar(&o.Token, "token", circlecitest.DefaultToken, "the valid API token")
	fs.StringVar(&o.LimitedToken, "limited-token", "", "a second token that sees only the first -limited-projects projects")
	fs.IntVar(&o.LimitedProjects, "limited-projects", circlecitest.DefaultLimitedProjects, "projects the limited token sees")
	fs.DurationVar(&f.Latency, "latency", 0, "latency added to every API request")
	fs.Float64Var(&f.RateLimit, "rate", 0, "token-bucket rate limit in requests/s (0: off)")
	fs.IntVar(&f.RateBurst, "burst", 0, "token-bucket size (default: the rate rounded up)")
	fs.Float64Var(&f.Random429Rate, "random-429", 0, "probability of a random 429")
	fs.Float64Var(&f.Random500Rate, "random-500", 0, "probability of a random 500")
	fs.IntVar(&f.BrokenPipelines, "broken", 0, "pipelines whose workflow list always answers 500")
	fs.IntVar(&f.ExpiredPipelines, "expired", 0, "oldest pipelines whose workflows and jobs answer 404 (retention)")
	fs.IntVar(&f.MissingUsers, "missing-users", 0, "referenced users whose /user/{id} answers 404")
	oddAndInsightsFlags(fs, o)
	webhookFlags(fs, o)
	corruptFlag(fs, f)

	var envErr error
	fs.VisitAll(func(fl *flag.Flag) {
		name := "FAKECIRCLECI_" + strings.ToUpper(strings.ReplaceAll(fl.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok && envErr == nil {
			if err := fl.Value.Set(v); err != nil {
				envErr = fmt.Errorf("%s=%q: %w", name, v, err)
			}
		}
	})
	if envErr != nil {
		return c, envErr
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	now, err := time.Parse(time.RFC3339, c.now)
	if err != nil {
		return c, fmt.Errorf("-now: %w", err)
	}
	o.Now = now
	return c, nil
}

func run(args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	h := circlecitest.NewHandler(c.opts)
	l, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	base := "http://" + l.Addr().String()
	fmt.Fprintf(stdout, "BASE_URL=%s\nTOKEN=%s\n", base, h.Token())
	if c.opts.LimitedToken != "" {
		fmt.Fprintf(stdout, "LIMITED_TOKEN=%s\n", c.opts.LimitedToken)
	}
	fmt.Fprintf(stderr, "fakecircleci: serving %s/api/v2 (control: %s/_fake/), seed %d, faults %+v\n",
		base, base, c.opts.Seed, h.Faults())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(stderr, "fakecircleci: shutting down")
	defer h.Close() // stops webhook deliveries
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
