package workflows

import (
	"slices"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// The custom search attributes the workflows set, so that the Web UI and
// `temporal workflow list --query` find a connection's runs:
//
//	temporal workflow list --query 'CircleCIConnection="acme"'
//	temporal workflow list --query 'CircleCIProject="gh/acme/api" AND CircleCISyncPhase="pages"'
//
// They must be registered on the namespace (the dev server's --search-attribute
// flag, `temporal operator search-attribute create`, or the worker at start:
// syncworker.SearchAttributeRegistry.Ensure). A workflow sets only those
// registered: a missing attribute never fails a sync.
var (
	// SearchAttrConnection is the connection_id (both workflows).
	SearchAttrConnection = temporal.NewSearchAttributeKeyKeyword("CircleCIConnection")
	// SearchAttrOrg is the organisation slug (both workflows).
	SearchAttrOrg = temporal.NewSearchAttributeKeyKeyword("CircleCIOrg")
	// SearchAttrProject is the project slug (ProjectSync).
	SearchAttrProject = temporal.NewSearchAttributeKeyKeyword("CircleCIProject")
	// SearchAttrPhase is the current phase (Phase* constants).
	SearchAttrPhase = temporal.NewSearchAttributeKeyKeyword("CircleCISyncPhase")
	// SearchAttrPipelines is the number of pipelines synced so far by the run's
	// cycle (ConnectionSync: by its finished projects).
	SearchAttrPipelines = temporal.NewSearchAttributeKeyInt64("CircleCIPipelinesSynced")
)

// SearchAttribute names a custom search attribute and its type.
type SearchAttribute struct {
	Name string
	Type enumspb.IndexedValueType
}

// SearchAttributes lists the custom search attributes the workflows set, with
// their types, for registration.
func SearchAttributes() []SearchAttribute {
	return []SearchAttribute{
		{SearchAttrConnection.GetName(), enumspb.INDEXED_VALUE_TYPE_KEYWORD},
		{SearchAttrOrg.GetName(), enumspb.INDEXED_VALUE_TYPE_KEYWORD},
		{SearchAttrProject.GetName(), enumspb.INDEXED_VALUE_TYPE_KEYWORD},
		{SearchAttrPhase.GetName(), enumspb.INDEXED_VALUE_TYPE_KEYWORD},
		{SearchAttrPipelines.GetName(), enumspb.INDEXED_VALUE_TYPE_INT},
	}
}

// searchAttrs upserts the search attributes that are registered, skipping the
// others and values that did not change (each upsert is a history event).
type searchAttrs struct {
	registered []string
	// last are the values last upserted, by name (looked up only).
	last map[string]any
}

// newSearchAttrs returns a searchAttrs for the registered names.
func newSearchAttrs(registered []string) *searchAttrs {
	return &searchAttrs{registered: registered, last: map[string]any{}}
}

// lookUpSearchAttrs asks the worker which of SearchAttributes are registered
// (a local activity, recorded in history). A failure counts as none: the sync
// goes on without search attributes.
func lookUpSearchAttrs(ctx workflow.Context) []string {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: localActivityTimeout,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
		Summary:             "which CircleCI* search attributes are registered",
	})
	var names []string
	if err := workflow.ExecuteLocalActivity(lctx, a.RegisteredSearchAttributes).Get(ctx, &names); err != nil {
		workflow.GetLogger(ctx).Warn("cannot tell which search attributes are registered: setting none", "error", err)
		return []string{}
	}
	if names == nil {
		names = []string{}
	}
	return names
}

// update is one search attribute value to set.
type update struct {
	name string
	val  any
	set  temporal.SearchAttributeUpdate
}

// keyword and integer make updates.
func keyword(k temporal.SearchAttributeKeyKeyword, v string) update {
	return update{k.GetName(), v, k.ValueSet(v)}
}

func integer(k temporal.SearchAttributeKeyInt64, v int64) update {
	return update{k.GetName(), v, k.ValueSet(v)}
}

// upsert sets the registered attributes of us whose value changed, in one
// history event (none when nothing changed). An upsert that fails is logged:
// search attributes are for finding runs, never a reason to fail one.
func (s *searchAttrs) upsert(ctx workflow.Context, us ...update) {
	var sets []temporal.SearchAttributeUpdate
	for _, u := range us {
		if !slices.Contains(s.registered, u.name) || s.last[u.name] == u.val {
			continue
		}
		s.last[u.name] = u.val
		sets = append(sets, u.set)
	}
	if len(sets) == 0 {
		return
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, sets...); err != nil {
		workflow.GetLogger(ctx).Warn("upsert search attributes", "error", err)
	}
}
