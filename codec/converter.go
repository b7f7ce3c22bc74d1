package codec

import (
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

// NewDataConverter returns the SDK's default data converter with c encrypting
// every payload it produces: workflow and activity inputs and results, signal,
// query and update arguments, heartbeat details, failure details, memo values
// and user metadata (static summary and details, activity and timer
// summaries). Search attributes do not go through a data converter and stay
// plaintext. c must not be nil.
func NewDataConverter(c *Codec) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// NewFailureConverter returns the SDK's default failure converter with
// EncodeCommonAttributes: each failure's message and stack trace move into a
// payload encoded by dc, and the plaintext message reads "Encoded failure".
// Failure types (an ApplicationError's type), flags and the activity, workflow
// and timeout information stay plaintext.
func NewFailureConverter(dc converter.DataConverter) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          dc,
		EncodeCommonAttributes: true,
	})
}

// Apply sets opts' DataConverter and FailureConverter to encrypt with c,
// replacing any set before. A nil c (payload encryption off, see FromEnv)
// leaves opts as they are. Workers made from the client use its converters.
func Apply(opts *client.Options, c *Codec) {
	if c == nil {
		return
	}
	dc := NewDataConverter(c)
	opts.DataConverter = dc
	opts.FailureConverter = NewFailureConverter(dc)
}
