package workflows

import (
	"slices"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// The custom search attributes the workflows set (`temporal workflow list
// --query 'CircleCIConnection="acme"'`): the connection, organisation, project,
// phase and pipelines synced so far. A workflow sets only those registered on
// the namespace (syncworker.SearchAttributeRegistry.Ensure registers them).
var (
	SearchAttrConnection = temporal.NewSearchAttributeKeyKeyword("CircleCIConnection")
	SearchAttrOrg        = temporal.NewSearchAttributeKeyKeyword("CircleCIOrg")
	SearchAttrProject    = temporal.NewSearchAttributeKeyKeyword("CircleCIProject")
	SearchAttrPhase      = temporal.NewSearchAttributeKeyKeyword("CircleCISyncPhase")
	SearchAttrPipelines  = temporal.NewSearchAttributeKeyInt64("CircleCIPipelinesSynced")
)

// SearchAttribute names a custom search attribute and its type.
type SearchAttribute struct {
	Name string
	Type enumspb.IndexedValueType
}

// SearchAttributes lists the custom search attributes with their types.
func SearchAttributes() []SearchAttribute {
	return []SearchAttribute{
		{SearchAttrConnection.GetName(), enumspb.INDEXED_VALUE_TYPE_KEYWORD},
		{SearchAttrOrg.GetName(), enumspb.INDEXED_VALUE_TYPE_KEYWORD},
		{SearchAttrProject.GetName(), enumspb.INDEXED_VALUE_TYPE_KEYWORD},
		{SearchAttrPhase.GetName(), enumspb.INDEXED_VALUE_TYPE_KEYWORD},
		{SearchAttrPipelines.GetName(), enumspb.INDEXED_VALUE_TYPE_INT},
	}
}

// searchAttrs upserts the registered search attributes whose value changed
// (each upsert is a history event).
type searchAttrs struct {
	registered []string
	last       map[string]any // by name, looked up only
}

// newSearchAttrs returns a searchAttrs for the registered names, knowing the
// values the run started with (carried over a continue-as-new): an upsert
// sets only what changed.
func newSearchAttrs(ctx workflow.Context, registered []string) *searchAttrs {
	s := &searchAttrs{registered: registered, last: map[string]any{}}
	sas := workflow.GetTypedSearchAttributes(ctx)
	for _, k := range []temporal.SearchAttributeKeyKeyword{SearchAttrConnection, SearchAttrOrg, SearchAttrProject, SearchAttrPhase} {
		if v, ok := sas.GetKeyword(k); ok {
			s.last[k.GetName()] = v
		}
	}
	if v, ok := sas.GetInt64(SearchAttrPipelines); ok {
		s.last[SearchAttrPipelines.GetName()] = v
	}
	return s
}

// lookUpSearchAttrs asks the worker which of SearchAttributes are registered,
// as an activity with a summary (a local activity shows in the Web UI as an
// unnamed marker of status "Unspecified"); a failure counts as none.
func lookUpSearchAttrs(ctx workflow.Context) []string {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: lookupTimeout,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
		Summary:             "look up which CircleCI* search attributes the namespace has",
	})
	var names []string
	if err := workflow.ExecuteActivity(actx, a.RegisteredSearchAttributes).Get(ctx, &names); err != nil {
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
// event; a failure is only logged (search attributes never fail a run).
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
