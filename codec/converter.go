package codec

import (
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

// NewDataConverter returns the SDK's default data converter encrypting every
// payload with c (not nil); search attributes stay plaintext.
func NewDataConverter(c *Codec) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// NewFailureConverter moves failure messages and stack traces into payloads
// encoded by dc ("Encoded failure"); failure types stay plaintext.
func NewFailureConverter(dc converter.DataConverter) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          dc,
		EncodeCommonAttributes: true,
	})
}

// Apply sets opts' converters to encrypt with c; a nil c leaves opts as they are.
func Apply(opts *client.Options, c *Codec) {
	if c == nil {
		return
	}
	dc := NewDataConverter(c)
	opts.DataConverter = dc
	opts.FailureConverter = NewFailureConverter(dc)
}
