package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

// Payload metadata written by Encode: the "encoding" of an encrypted payload
// and the metadata key naming its key.
const (
	MetadataEncodingEncrypted = "binary/encrypted"
	MetadataKeyID             = "encryption-key-id"
)

// Errors of Decode, wrapped with the key id.
var (
	// ErrUnknownKey: the payload's key is not in the keyring.
	ErrUnknownKey = errors.New("unknown encryption key id")
	// ErrAuthentication: altered, or another key under the same id.
	ErrAuthentication = errors.New("encrypted payload failed authentication")
)

// Codec is a converter.PayloadCodec: AES-256-GCM under the keyring's first key,
// decryption with any; safe for concurrent use.
type Codec struct {
	encryptID string
	aeads     map[string]cipher.AEAD
	ids       []string
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New returns a Codec over keys (unique ids): keys[0] encrypts, all decrypt.
func New(keys []Key) (*Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("codec: no keys")
	}
	c := &Codec{encryptID: keys[0].id, aeads: make(map[string]cipher.AEAD, len(keys))}
	for _, k := range keys {
		if _, dup := c.aeads[k.id]; dup {
			return nil, fmt.Errorf("codec: duplicate key id %q", k.id)
		}
		if len(k.secret) != KeySize {
			return nil, fmt.Errorf("codec: key %q is %d bytes, want %d (use NewKey or ParseKeys)", k.id, len(k.secret), KeySize)
		}
		block, err := aes.NewCipher(k.secret)
		if err != nil {
			return nil, fmt.Errorf("codec: key %q: %w", k.id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("codec: key %q: %w", k.id, err)
		}
		c.aeads[k.id] = aead
		c.ids = append(c.ids, k.id)
	}
	return c, nil
}

// FromEnv returns the Codec over KeysFromEnv(lookup)'s keyring, or nil (and no
// error) when neither EnvKeys nor EnvKeysFile is set: payload encryption off.
func FromEnv(lookup func(string) (string, bool)) (*Codec, error) {
	keys, err := KeysFromEnv(lookup)
	if err != nil || keys == nil {
		return nil, err
	}
	return New(keys)
}

// KeyIDs returns the keyring's ids, the encrypting one first.
func (c *Codec) KeyIDs() []string { return append([]string(nil), c.ids...) }

// Encode seals each whole payload as nonce || ciphertext, the key id as GCM
// additional data and in the metadata. Nil payloads stay nil.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := c.aeads[c.encryptID]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if p == nil {
			continue
		}
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("codec: marshal payload %d: %w", i, err)
		}
		data := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(data); err != nil {
			return nil, fmt.Errorf("codec: nonce: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(MetadataEncodingEncrypted),
				MetadataKeyID:              []byte(c.encryptID),
			},
			Data: aead.Seal(data, data, plain, []byte(c.encryptID)),
		}
	}
	return out, nil
}

// Decode opens what Encode sealed and passes other payloads through; it fails
// with ErrUnknownKey or ErrAuthentication.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != MetadataEncodingEncrypted {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		aead, ok := c.aeads[id]
		if !ok {
			return nil, fmt.Errorf("codec: payload %d: %w %q", i, ErrUnknownKey, id)
		}
		data := p.GetData()
		if len(data) < aead.NonceSize()+aead.Overhead() {
			return nil, fmt.Errorf("codec: payload %d (key id %q): %w: too short", i, id, ErrAuthentication)
		}
		nonce, sealed := data[:aead.NonceSize()], data[aead.NonceSize():]
		plain, err := aead.Open(nil, nonce, sealed, []byte(id))
		if err != nil {
			return nil, fmt.Errorf("codec: payload %d (key id %q): %w", i, id, ErrAuthentication)
		}
		decoded := &commonpb.Payload{}
		if err := proto.Unmarshal(plain, decoded); err != nil {
			return nil, fmt.Errorf("codec: payload %d (key id %q): unmarshal: %w", i, id, err)
		}
		out[i] = decoded
	}
	return out, nil
}
