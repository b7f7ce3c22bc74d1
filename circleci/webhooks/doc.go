// Package webhooks reads CircleCI's outbound webhook deliveries: the
// workflow-completed and job-completed events and their circleci-signature.
// It depends on nothing of circleci-sync's, like the circleci client.
package webhooks
