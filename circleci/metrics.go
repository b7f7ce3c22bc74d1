package circleci

import "time"

// Observer is told about every HTTP request the client sends, once the response is
// read (or the request failed). route is the route template (such as
// RouteWorkflowJobs, never an id or a token), status the HTTP status, or 0 when no
// response came (transport failure), and d the time from sending the request to
// reading the whole body. A request that never left (the context ended while waiting
// for the limiter) is not observed.
//
// ObserveRequest is called from the goroutines of the callers, concurrently: it must
// be safe for concurrent use, and quick. The Prometheus adapter is in the subpackage
// circleciprom, so that this package does not depend on Prometheus.
type Observer interface {
	ObserveRequest(route, method string, status int, d time.Duration)
}

// ObserverFunc adapts a function to an Observer.
type ObserverFunc func(route, method string, status int, d time.Duration)

// ObserveRequest calls f.
func (f ObserverFunc) ObserveRequest(route, method string, status int, d time.Duration) {
	f(route, method, status, d)
}

// nopObserver observes nothing.
type nopObserver struct{}

// ObserveRequest does nothing.
func (nopObserver) ObserveRequest(string, string, int, time.Duration) {}
