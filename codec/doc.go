// Package codec encrypts Temporal payloads with AES-256-GCM (optional payload
// encryption for circleci-sync) and serves a codec server through which the
// Temporal CLI and Web UI decrypt them for people allowed to read them.
//
// # What is encrypted
//
// With Apply (NewDataConverter and NewFailureConverter) on the client options
// of the worker and of every client that starts or reads workflows, each
// payload the SDK writes is sealed before it leaves the process: workflow and
// activity inputs and results, signal, query and update arguments and results,
// heartbeat details, failure details, memo values, user metadata (static
// summary and details, activity and timer summaries, in SDK v1.51.0 built with
// the data converter), and failure messages and stack traces (moved into an
// encoded payload by the failure converter; the visible message reads
// "Encoded failure"). A sealed payload keeps the whole original payload,
// metadata and data, as nonce || AES-GCM ciphertext, with metadata
// "encoding: binary/encrypted" and "encryption-key-id: <id>"; the key id is
// also the GCM additional data, so a payload cannot be moved to another key.
// The Temporal server, its database, and anyone with read access to the
// namespace see ciphertext.
//
// # What stays plaintext
//
// Search attributes (the server indexes them; the SDK encodes them with the
// default converter, never through this codec), workflow, activity, signal,
// query and update names, workflow, run and activity ids, task queues,
// timeouts and retry policies, failure types (an ApplicationError's type),
// non-retryable flags, server-generated failures (timeouts, terminations and
// their reasons), and headers (the SDK encodes a header only when an
// interceptor marks it). Do not put secrets or personal data in any of those.
//
// Decode passes through payloads that are not "binary/encrypted", so plaintext
// input (from a CLI started without the codec, or history from before
// encryption was turned on) still reads. An encrypted payload under an unknown
// key id, or that fails authentication, is an error naming the key id; errors
// never contain key bytes, and Key prints its id only.
//
// # Keys and rotation
//
// The keyring (EnvKeys or EnvKeysFile, see ParseKeys) is "id=base64key,..."
// of 32-byte keys; the first encrypts, all decrypt. To rotate, put a new key
// (NewKeyLine makes one) first on every worker, client and codec server. With
// several workers in a rolling deploy, add it second (decrypt only)
// everywhere first, then move it first: a process that lacks a key cannot read
// what another encrypted with it, and its workflow tasks fail until it has the
// key. Keep the old keys until no history that uses them is still readable:
// the namespace's retention period after the last workflow that used them
// closed (running workflows replay their old events). A leaked key decrypts
// every payload under its id; rotating protects new payloads only.
//
// # Codec server
//
// NewHTTPHandler decrypts for anyone who can reach it (and who has its token,
// when one is set): it must listen on a loopback or private address, never be
// exposed publicly. With a token, the CLI passes it as --codec-auth
// "Bearer <token>"; the Web UI can send only its own OIDC access token
// (TEMPORAL_CODEC_PASS_ACCESS_TOKEN), so a UI without OIDC needs a codec
// server without token, reachable from the viewer's browser only.
package codec
