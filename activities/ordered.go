package activities

import (
	"context"
	"sync"
)

// runOrdered runs work for items 0..n-1 concurrently, at most window ahead of
// commit, and hands commit each ready run of results in order. The first error
// stops everything; it returns once every work call has.
func runOrdered[T any](ctx context.Context, n, window int,
	work func(ctx context.Context, i int) (T, error), commit func(from int, vals []T) error,
) error {
	if n <= 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	results := make([]chan result[T], n)
	for i := range results {
		results[i] = make(chan result[T], 1)
	}
	slots := make(chan struct{}, max(1, window))
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	wg.Add(1)
	go startInOrder(ctx, &wg, slots, results, work)
	for i := 0; i < n; {
		r := <-results[i]
		if r.err != nil {
			return r.err
		}
		from := i
		vals := []T{r.v}
		i++
		var pending error
	greedy:
		for i < n {
			select {
			case r := <-results[i]:
				if r.err != nil {
					pending = r.err
					break greedy
				}
				vals = append(vals, r.v)
				i++
			default:
				break greedy
			}
		}
		for range vals {
			<-slots
		}
		if err := commit(from, vals); err != nil {
			return err
		}
		if pending != nil {
			return pending
		}
	}
	return nil
}

// result is an item's work result.
type result[T any] struct {
	v   T
	err error
}

// startInOrder starts work for each item in order as slots free up; once ctx
// is done the items not started get its error.
func startInOrder[T any](ctx context.Context, wg *sync.WaitGroup, slots chan struct{}, results []chan result[T],
	work func(ctx context.Context, i int) (T, error),
) {
	defer wg.Done()
	for i := range results {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			for ; i < len(results); i++ {
				results[i] <- result[T]{err: ctx.Err()}
			}
			return
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			v, err := work(ctx, i)
			results[i] <- result[T]{v: v, err: err}
		}(i)
	}
}
