package syncworker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/circleci-sync/circleci-sync/workflows"
)

// searchAttributeRecheck is how often missing search attributes are looked for again.
const searchAttributeRecheck = time.Minute

// SearchAttributeRegistry knows which of the workflows' search attributes exist on a
// namespace; the workflows ask it which to set. Safe for concurrent use.
type SearchAttributeRegistry struct {
	c         client.Client
	namespace string
	logger    *slog.Logger

	mu        sync.Mutex
	present   []string
	checkedAt time.Time
}

// NewSearchAttributeRegistry returns a registry for namespace ("" is "default").
func NewSearchAttributeRegistry(c client.Client, namespace string, logger *slog.Logger) *SearchAttributeRegistry {
	if namespace == "" {
		namespace = client.DefaultNamespace
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &SearchAttributeRegistry{c: c, namespace: namespace, logger: logger}
}

// Ensure lists the namespace's search attributes and, with add, adds the missing ones
// (not possible on Temporal Cloud); it logs how to add those still missing, and
// returns the names present.
func (r *SearchAttributeRegistry) Ensure(ctx context.Context, add bool) ([]string, error) {
	present, missing, err := r.list(ctx)
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 && add {
		req := &operatorservice.AddSearchAttributesRequest{Namespace: r.namespace,
			SearchAttributes: map[string]enumspb.IndexedValueType{}}
		for _, sa := range missing {
			req.SearchAttributes[sa.Name] = sa.Type
		}
		_, err := r.c.OperatorService().AddSearchAttributes(ctx, req)
		var exists *serviceerror.AlreadyExists
		switch {
		case err == nil || errors.As(err, &exists):
			r.logger.Info("search attributes added", "namespace", r.namespace, "names", names(missing))
			if present, missing, err = r.list(ctx); err != nil {
				return nil, err
			}
		default:
			r.logger.Warn("cannot add the search attributes (not allowed here?)", "namespace", r.namespace,
				"error", err)
		}
	}
	if len(missing) > 0 {
		r.logger.Warn("search attributes missing: the syncs run without them until they are added",
			"namespace", r.namespace, "missing", names(missing), "add_with", addCommands(r.namespace, missing))
	}
	return present, nil
}

// Present returns the names known to exist, looking again once a minute while some are
// missing.
func (r *SearchAttributeRegistry) Present(ctx context.Context) []string {
	r.mu.Lock()
	stale := len(r.present) < len(workflows.SearchAttributes()) && time.Since(r.checkedAt) > searchAttributeRecheck
	present := slices.Clone(r.present)
	r.mu.Unlock()
	if !stale {
		return present
	}
	now, _, err := r.list(ctx)
	if err != nil {
		r.logger.Warn("cannot list the search attributes", "namespace", r.namespace, "error", err)
		return present
	}
	return now
}

// list reads which of the workflows' search attributes the namespace has.
func (r *SearchAttributeRegistry) list(ctx context.Context) (present []string, missing []workflows.SearchAttribute, err error) {
	resp, err := r.c.OperatorService().ListSearchAttributes(ctx,
		&operatorservice.ListSearchAttributesRequest{Namespace: r.namespace})
	if err != nil {
		r.mu.Lock()
		r.checkedAt = time.Now()
		r.mu.Unlock()
		return nil, nil, fmt.Errorf("list the search attributes of namespace %s: %w", r.namespace, err)
	}
	custom := resp.GetCustomAttributes()
	for _, sa := range workflows.SearchAttributes() {
		if t, ok := custom[sa.Name]; ok && t == sa.Type {
			present = append(present, sa.Name)
		} else if ok {
			r.logger.Warn("search attribute has another type: not set", "name", sa.Name, "type", t, "want", sa.Type)
		} else {
			missing = append(missing, sa)
		}
	}
	r.mu.Lock()
	r.present, r.checkedAt = present, time.Now()
	r.mu.Unlock()
	return present, missing, nil
}

// names lists the attributes' names.
func names(sas []workflows.SearchAttribute) []string {
	out := make([]string, len(sas))
	for i, sa := range sas {
		out[i] = sa.Name
	}
	return out
}

// addCommands says how to add the missing attributes (temporal or tcld).
func addCommands(namespace string, missing []workflows.SearchAttribute) string {
	var cli, cloud []string
	for _, sa := range missing {
		typ := typeName(sa)
		cli = append(cli, fmt.Sprintf("--name %s --type %s", sa.Name, typ))
		cloud = append(cloud, fmt.Sprintf("--sa '%s=%s'", sa.Name, typ))
	}
	return fmt.Sprintf("temporal operator search-attribute create --namespace %s %s; or on Temporal Cloud: "+
		"tcld namespace search-attributes add --namespace %s %s", namespace, strings.Join(cli, " "), namespace,
		strings.Join(cloud, " "))
}

// typeName is the CLI's name of sa's type: Keyword, Int.
func typeName(sa workflows.SearchAttribute) string {
	s := strings.TrimPrefix(sa.Type.String(), "INDEXED_VALUE_TYPE_")
	return s[:1] + strings.ToLower(s[1:])
}
