// Package codec encrypts Temporal payloads with AES-256-GCM (optional payload
// encryption for circleci-sync) and serves a codec server through which the
// Temporal CLI and Web UI decrypt them for people allowed to read them. What
// is encrypted and what stays plaintext, key rotation and the codec server's
// exposure are described in docs/operations.md ("Payload encryption").
package codec
