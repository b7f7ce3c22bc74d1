package workflows

import "github.com/circleci-sync/circleci-sync/activities"

// Duration is a time.Duration written in JSON as "1h" (a number of
// nanoseconds is read too): activities.Duration.
type Duration = activities.Duration
