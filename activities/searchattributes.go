package activities

import "context"

// RegisteredSearchAttributes returns the names of the custom search attributes
// registered on the worker's namespace, as Activities.SearchAttributes tells
// (none when it is nil). The workflows run it as a local activity when they
// start, and set only the attributes it names: upserting one the namespace
// does not know would fail their workflow task over and over.
func (a *Activities) RegisteredSearchAttributes(ctx context.Context) ([]string, error) {
	if a.SearchAttributes == nil {
		return []string{}, nil
	}
	names := a.SearchAttributes(ctx)
	if names == nil {
		names = []string{}
	}
	return names, nil
}
