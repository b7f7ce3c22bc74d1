package circleci

import (
	"context"
	"fmt"
	"iter"
	"net/http"
)

// Page is one page of a v2 list; NextPageToken is empty on the last page.
type Page[T any] struct {
	Items         []T
	NextPageToken string

	// route names the request that fetched the page in a ClassPagination error.
	route string
}

// getPage sends r, once, and decodes a list page, noting r's route in it.
func getPage[T any](ctx context.Context, c *Client, r *request) (Page[T], error) {
	p, err := get(ctx, c, r, decodePage[T])
	if err == nil {
		p.route = r.route
	}
	return p, err
}

// PageFetcher fetches the page of a list that pageToken names ("" for the first).
// The client's *Page methods fit it through a closure.
type PageFetcher[T any] func(ctx context.Context, pageToken string) (Page[T], error)

// Pages iterates over the pages of a list, fetching each next_page_token. An error is
// yielded once and ends it; a token already used is a ClassPagination *Error.
func Pages[T any](ctx context.Context, fetch PageFetcher[T]) iter.Seq2[Page[T], error] {
	return pages(ctx, "", fetch)
}

// PagesFrom is Pages resuming at startToken (a saved NextPageToken; "" is the first
// page), which counts as already used. A stale token answers 404 (NotFoundPageToken)
// or 400: restart from the first page.
func PagesFrom[T any](ctx context.Context, startToken string, fetch PageFetcher[T]) iter.Seq2[Page[T], error] {
	return pagesFrom(ctx, "", startToken, fetch)
}

// Items iterates over the items of every page of a list (see Pages): (item, nil) for
// each item, then (zero, err) once if a page fails.
func Items[T any](ctx context.Context, fetch PageFetcher[T]) iter.Seq2[T, error] {
	return items(pages(ctx, "", fetch))
}

// ItemsFrom iterates over the items of the pages PagesFrom yields: those of the
// page startToken names and of every page after it.
func ItemsFrom[T any](ctx context.Context, startToken string, fetch PageFetcher[T]) iter.Seq2[T, error] {
	return items(pagesFrom(ctx, "", startToken, fetch))
}

// pages is Pages with the route template to name in a ClassPagination error.
func pages[T any](ctx context.Context, route string, fetch PageFetcher[T]) iter.Seq2[Page[T], error] {
	return pagesFrom(ctx, route, "", fetch)
}

// pagesFrom is PagesFrom with the route template to name in a ClassPagination
// error.
func pagesFrom[T any](ctx context.Context, route, startToken string, fetch PageFetcher[T]) iter.Seq2[Page[T], error] {
	return func(yield func(Page[T], error) bool) {
		seen := map[string]int{} // page token → number of the page it fetched
		if startToken != "" {
			seen[startToken] = 1
		}
		token := startToken
		for n := 1; ; n++ {
			p, err := fetch(ctx, token)
			if err != nil {
				yield(Page[T]{}, err)
				return
			}
			if !yield(p, nil) {
				return
			}
			next := p.NextPageToken
			if next == "" {
				return
			}
			if first, dup := seen[next]; dup {
				if route == "" {
					route = p.route
				}
				e := &Error{
					Class:        ClassPagination,
					Route:        route,
					Continuation: token != "",
					Message: fmt.Sprintf("page %d returned the next_page_token already used for page %d; stopping to avoid an endless loop",
						n, first),
				}
				if route != "" {
					e.Method = http.MethodGet
				}
				yield(Page[T]{}, e)
				return
			}
			seen[next] = n + 1
			token = next
		}
	}
}

// items flattens an iterator of pages into one of items.
func items[T any](ps iter.Seq2[Page[T], error]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for p, err := range ps {
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range p.Items {
				if !yield(it, nil) {
					return
				}
			}
		}
	}
}
