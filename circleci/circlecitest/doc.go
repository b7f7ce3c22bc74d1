// Package circlecitest is a fake CircleCI API for tests, demos and benchmarks, in the
// spirit of net/http/httptest. It is written from CircleCI's OpenAPI spec, not from our
// client, and does not import package circleci. Everything derives from Options.Seed:
// the same Options give byte-identical answers. Its routes, dataset, tokens, paging,
// faults and the deviations from the spec it keeps on purpose are in docs/design.md,
// "The fake CircleCI".
//
//	s := circlecitest.NewServer(circlecitest.Options{Seed: 42})
//	defer s.Close()
//	want := s.Expected(s.Token()) // what a complete sync must store
package circlecitest
