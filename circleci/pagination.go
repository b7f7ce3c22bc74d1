package circleci

import (
	"context"
	"fmt"
	"iter"
	"net/http"
)

// Page is one page of a v2 list. NextPageToken is empty on the last page (CircleCI
// sends null, or leaves it out); otherwise it is passed back as pageToken to get the
// next page. Items is never nil for a page the client decoded.
type Page[T any] struct {
	Items         []T
	NextPageToken string

	// route is the route template of the request that fetched the page ("" for
	// a page the client did not fetch), so that a ClassPagination error from
	// the generic Pages names it too.
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

// Pages iterates over the pages of a list, newest first as CircleCI sends them,
// calling fetch with each next_page_token until one is empty.
//
// On error it yields (zero Page, err) once and stops. A next_page_token already used
// in this iteration (A→A, or A→B→A) would loop for ever: the page carrying it is
// still yielded, then a ClassPagination *Error, which names the method and route
// of the request when the page came from one of the client's *Page operations.
// Breaking out of the loop stops fetching.
func Pages[T any](ctx context.Context, fetch PageFetcher[T]) iter.Seq2[Page[T], error] {
	return pages(ctx, "", fetch)
}

// PagesFrom is Pages resuming at the page that startToken names, typically a
// NextPageToken saved by an earlier iteration that was interrupted: it yields
// that page and every page after it, and none before. startToken counts as
// already used: a list whose next_page_token leads back to it (or to any token of
// this iteration) is a ClassPagination *Error, as in Pages; the page numbers in
// its message count startToken's page as page 1. An empty startToken starts at
// the first page, like Pages.
//
// A page token can go stale between two runs: CircleCI may then answer 404 (a
// ClassNotFound *Error with NotFoundKind NotFoundPageToken) or 400, and the list
// should be restarted from the first page.
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
