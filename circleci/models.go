package circleci

import "encoding/json"

// The models follow the v2 OpenAPI spec's names and enums and decode leniently where
// the live API differs (docs/design.md, "Lenient decoding"); each keeps its wire JSON.

// keepRaw copies b so a decoded item does not alias the decoder's buffer.
func keepRaw(b []byte) json.RawMessage { return append(json.RawMessage(nil), b...) }
