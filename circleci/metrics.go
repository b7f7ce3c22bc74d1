package circleci

import "time"

// Observer is told about every request sent, once its body is read or it failed: the
// route template, status (0: no response) and duration. It is called concurrently and
// must be quick; circleciprom adapts it to Prometheus.
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
