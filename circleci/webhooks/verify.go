package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
)

// SignatureHeader is the header CircleCI signs deliveries in.
const SignatureHeader = "circleci-signature"

// MaxSignatureHeaderBytes bounds the header Verify reads.
const MaxSignatureHeaderBytes = 4 << 10

// Verification errors; they name no secret, signature or body.
var (
	ErrNoSignature  = errors.New("webhooks: no v1 signature")
	ErrBadSignature = errors.New("webhooks: signature does not match")
)

// Sign is the circleci-signature value CircleCI sends for body: "v1=" and
// the hex HMAC-SHA256 of the raw body keyed by secret.
func Sign(secret, body []byte) string {
	return "v1=" + hex.EncodeToString(mac(secret, body))
}

// Verify checks header against body and secret. Only v1 entries count (no
// downgrade to another version); the digests are compared in constant time.
func Verify(secret []byte, header string, body []byte) error {
	if len(secret) == 0 {
		return ErrBadSignature
	}
	if len(header) > MaxSignatureHeaderBytes {
		return ErrNoSignature
	}
	want := mac(secret, body)
	found := false
	for entry := range strings.SplitSeq(header, ",") {
		v, ok := strings.CutPrefix(strings.TrimSpace(entry), "v1=")
		if !ok {
			continue
		}
		found = true
		got, err := hex.DecodeString(v)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	if !found {
		return ErrNoSignature
	}
	return ErrBadSignature
}

// VerifyAny is Verify with each of secrets (old and new during a rotation).
func VerifyAny(secrets [][]byte, header string, body []byte) error {
	err := ErrBadSignature
	for _, s := range secrets {
		if err = Verify(s, header, body); err == nil || errors.Is(err, ErrNoSignature) {
			return err
		}
	}
	return err
}

func mac(secret, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return m.Sum(nil)
}
