package codec

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

const secretText = "pipeline of gh/acme/secret-repo by alice@example.com"

// newCodec returns a Codec over keys.
func newCodec(t *testing.T, keys ...Key) *Codec {
	t.Helper()
	c, err := New(keys)
	require.NoError(t, err)
	return c
}

// plainPayload returns secretText as the default converter makes it.
func plainPayload(t *testing.T) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(secretText)
	require.NoError(t, err)
	return p
}

// encodeOne encodes p with c.
func encodeOne(t *testing.T, c *Codec, p *commonpb.Payload) *commonpb.Payload {
	t.Helper()
	out, err := c.Encode([]*commonpb.Payload{p})
	require.NoError(t, err)
	require.Len(t, out, 1)
	return out[0]
}

// decodeOne decodes p with c.
func decodeOne(c *Codec, p *commonpb.Payload) (*commonpb.Payload, error) {
	out, err := c.Decode([]*commonpb.Payload{p})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

func TestRoundTrip(t *testing.T) {
	c := newCodec(t, testKey(t, "k1"))
	plain := plainPayload(t)
	plain.Metadata["extra"] = []byte("kept")

	enc := encodeOne(t, c, plain)
	require.Equal(t, map[string][]byte{"encoding": []byte("binary/encrypted"), "encryption-key-id": []byte("k1")}, enc.Metadata)
	require.NotContains(t, string(enc.Data), secretText)
	require.NotContains(t, string(enc.Data), "json/plain")
	again := encodeOne(t, c, plain)
	require.NotEqual(t, enc.Data[:12], again.Data[:12], "a fresh nonce per payload")
	require.NotEqual(t, enc.Data, again.Data)

	dec, err := decodeOne(c, enc)
	require.NoError(t, err)
	require.True(t, proto.Equal(plain, dec), "got %v", dec)

	// Several at once, nil kept.
	out, err := c.Encode([]*commonpb.Payload{plain, nil, again})
	require.NoError(t, err)
	require.Nil(t, out[1])
	back, err := c.Decode(out)
	require.NoError(t, err)
	require.True(t, proto.Equal(plain, back[0]))
	require.Nil(t, back[1])
	require.True(t, proto.Equal(again, back[2]), "encrypting an encrypted payload nests")
}

func TestDataConverterRoundTrip(t *testing.T) {
	type record struct {
		Slug  string
		Email string
	}
	dc := NewDataConverter(newCodec(t, testKey(t, "k1")))
	in := record{Slug: "gh/acme/secret-repo", Email: "alice@example.com"}
	p, err := dc.ToPayload(in)
	require.NoError(t, err)
	require.Equal(t, "binary/encrypted", string(p.Metadata["encoding"]))
	require.NotContains(t, string(p.Data), "alice")
	var out record
	require.NoError(t, dc.FromPayload(p, &out))
	require.Equal(t, in, out)
	require.Equal(t, `{"Slug":"gh/acme/secret-repo","Email":"alice@example.com"}`, dc.ToString(p))
}

func TestRotation(t *testing.T) {
	old, next := testKey(t, "2026-01"), testKey(t, "2026-05")
	before := newCodec(t, old)
	after := newCodec(t, next, old)
	require.Equal(t, []string{"2026-05", "2026-01"}, after.KeyIDs())

	oldPayload := encodeOne(t, before, plainPayload(t))
	dec, err := decodeOne(after, oldPayload)
	require.NoError(t, err, "payloads of the old key still decode")
	require.True(t, proto.Equal(plainPayload(t), dec))

	newPayload := encodeOne(t, after, plainPayload(t))
	require.Equal(t, "2026-05", string(newPayload.Metadata[MetadataKeyID]), "the first key encrypts")
	dec, err = decodeOne(after, newPayload)
	require.NoError(t, err)
	require.True(t, proto.Equal(plainPayload(t), dec))

	// A process that still has only the old key cannot read new payloads.
	_, err = decodeOne(before, newPayload)
	require.ErrorIs(t, err, ErrUnknownKey)
}

func TestTamperDetection(t *testing.T) {
	k1, k2 := testKey(t, "k1"), testKey(t, "k2")
	c := newCodec(t, k1, k2)
	enc := encodeOne(t, c, plainPayload(t))

	for name, tamper := range map[string]func(p *commonpb.Payload){
		"flipped ciphertext bit": func(p *commonpb.Payload) { p.Data[len(p.Data)/2] ^= 1 },
		"flipped nonce bit":      func(p *commonpb.Payload) { p.Data[0] ^= 1 },
		"flipped tag bit":        func(p *commonpb.Payload) { p.Data[len(p.Data)-1] ^= 1 },
		"truncated":              func(p *commonpb.Payload) { p.Data = p.Data[:len(p.Data)-1] },
		"too short":              func(p *commonpb.Payload) { p.Data = p.Data[:27] },
		"empty":                  func(p *commonpb.Payload) { p.Data = nil },
		"relabelled key id":      func(p *commonpb.Payload) { p.Metadata[MetadataKeyID] = []byte("k2") },
	} {
		t.Run(name, func(t *testing.T) {
			p := proto.Clone(enc).(*commonpb.Payload)
			tamper(p)
			_, err := decodeOne(c, p)
			require.ErrorIs(t, err, ErrAuthentication)
			require.ErrorContains(t, err, `key id "`+string(p.Metadata[MetadataKeyID])+`"`)
		})
	}

	// The same id under another key (a wrong key file) does not authenticate.
	impostor := newCodec(t, testKey(t, "k1"))
	_, err := decodeOne(impostor, enc)
	require.ErrorIs(t, err, ErrAuthentication)
	require.ErrorContains(t, err, `key id "k1"`)
	requireNoKeyMaterial(t, err.Error(), base64.StdEncoding.EncodeToString(k1.secret))
}

func TestUnknownKeyID(t *testing.T) {
	writer := testKey(t, "retired-2025")
	enc := encodeOne(t, newCodec(t, writer), plainPayload(t))
	reader := testKey(t, "current")
	_, err := decodeOne(newCodec(t, reader), enc)
	require.ErrorIs(t, err, ErrUnknownKey)
	require.EqualError(t, err, `codec: payload 0: unknown encryption key id "retired-2025"`)
	requireNoKeyMaterial(t, err.Error(), base64.StdEncoding.EncodeToString(writer.secret), base64.StdEncoding.EncodeToString(reader.secret))

	// Without a key id at all.
	delete(enc.Metadata, MetadataKeyID)
	_, err = decodeOne(newCodec(t, reader), enc)
	require.ErrorIs(t, err, ErrUnknownKey)
}

func TestDecodePassesPlaintextThrough(t *testing.T) {
	c := newCodec(t, testKey(t, "k1"))
	plain := plainPayload(t)
	null, err := converter.GetDefaultDataConverter().ToPayload(nil)
	require.NoError(t, err)
	zlib, err := converter.NewZlibCodec(converter.ZlibCodecOptions{AlwaysEncode: true}).Encode([]*commonpb.Payload{plain})
	require.NoError(t, err)
	noMetadata := &commonpb.Payload{Data: []byte("raw")}
	in := []*commonpb.Payload{plain, null, zlib[0], noMetadata, nil}
	out, err := c.Decode(in)
	require.NoError(t, err)
	require.Len(t, out, len(in))
	for i := range in {
		require.Same(t, in[i], out[i], "payload %d", i)
	}

	// A client without the codec (e.g. the CLI) starts with plaintext input;
	// the worker's converter reads it.
	var s string
	require.NoError(t, NewDataConverter(c).FromPayload(plain, &s))
	require.Equal(t, secretText, s)
}

func TestNew(t *testing.T) {
	_, err := New(nil)
	require.EqualError(t, err, "codec: no keys")
	_, err = New([]Key{testKey(t, "a"), testKey(t, "a")})
	require.EqualError(t, err, `codec: duplicate key id "a"`)
	_, err = New([]Key{{id: "zero"}})
	require.ErrorContains(t, err, `codec: key "zero" is 0 bytes, want 32`)

	// KeyIDs returns a copy.
	c := newCodec(t, testKey(t, "a"), testKey(t, "b"))
	ids := c.KeyIDs()
	ids[0] = "x"
	require.Equal(t, []string{"a", "b"}, c.KeyIDs())
}

func TestFromEnv(t *testing.T) {
	c, err := FromEnv(env(nil))
	require.NoError(t, err)
	require.Nil(t, c, "codec off")

	line1, err := NewKeyLine("new")
	require.NoError(t, err)
	line2, err := NewKeyLine("old")
	require.NoError(t, err)
	c, err = FromEnv(env(map[string]string{EnvKeys: line1 + "\n" + line2}))
	require.NoError(t, err)
	require.Equal(t, []string{"new", "old"}, c.KeyIDs())

	_, err = FromEnv(env(map[string]string{EnvKeys: "new=c2hvcnQ"}))
	require.ErrorContains(t, err, `key "new" is 5 bytes`)
}

func TestEncodedPayloadHoldsNoPlaintext(t *testing.T) {
	// Scan the serialized payload, not only its Data: metadata must not leak
	// the original encoding or content either.
	enc := encodeOne(t, newCodec(t, testKey(t, "k1")), plainPayload(t))
	b, err := proto.Marshal(enc)
	require.NoError(t, err)
	require.False(t, bytes.Contains(b, []byte("secret-repo")))
	require.False(t, bytes.Contains(b, []byte("json/plain")))
}
