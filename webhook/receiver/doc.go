// Package receiver is the HTTP side of the webhook command: it verifies
// CircleCI's webhook deliveries and hands their pipelines to the connection's
// ConnectionSync. It needs the signing secrets and Temporal, nothing else.
package receiver
