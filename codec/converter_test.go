package codec

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

func TestFailureConverterEncryptsMessagesAndDetails(t *testing.T) {
	dc := NewDataConverter(newCodec(t, testKey(t, "k1")))
	fc := NewFailureConverter(dc)

	cause := fmt.Errorf("GET gh/acme/secret-repo: %w", errors.New("alice@example.com has no access"))
	appErr := temporal.NewNonRetryableApplicationError("sync of gh/acme/secret-repo failed", "circleci.Forbidden", cause, "detail gh/acme/secret-repo")
	failure := fc.ErrorToFailure(appErr)

	wire, err := proto.Marshal(failure)
	require.NoError(t, err)
	require.NotContains(t, string(wire), "secret-repo")
	require.NotContains(t, string(wire), "alice")
	require.Equal(t, "Encoded failure", failure.GetMessage())
	require.Equal(t, "Encoded failure", failure.GetCause().GetMessage())
	require.Equal(t, "binary/encrypted", string(failure.GetEncodedAttributes().GetMetadata()["encoding"]))
	// What stays plaintext: the type and the flags.
	require.Equal(t, "circleci.Forbidden", failure.GetApplicationFailureInfo().GetType())
	require.True(t, failure.GetApplicationFailureInfo().GetNonRetryable())

	sealed := proto.Clone(failure).(*failurepb.Failure) // FailureToError decodes in place
	back := fc.FailureToError(failure)
	var got *temporal.ApplicationError
	require.ErrorAs(t, back, &got)
	require.Equal(t, "sync of gh/acme/secret-repo failed", got.Message())
	require.Equal(t, "circleci.Forbidden", got.Type())
	var detail string
	require.NoError(t, got.Details(&detail))
	require.Equal(t, "detail gh/acme/secret-repo", detail)
	require.ErrorContains(t, back, "alice@example.com has no access", "the cause's message decodes too")

	// Without the codec the message stays sealed.
	plainFC := temporal.GetDefaultFailureConverter()
	require.Equal(t, "Encoded failure (type: circleci.Forbidden, retryable: false): Encoded failure (type: wrapError, retryable: true): Encoded failure",
		plainFC.FailureToError(sealed).Error())
}

func TestApply(t *testing.T) {
	opts := client.Options{HostPort: "h:1"}
	Apply(&opts, nil)
	require.Equal(t, client.Options{HostPort: "h:1"}, opts, "codec off leaves the options alone")

	c := newCodec(t, testKey(t, "k1"))
	Apply(&opts, c)
	require.Equal(t, "h:1", opts.HostPort)
	require.NotNil(t, opts.FailureConverter)
	p, err := opts.DataConverter.ToPayload("x")
	require.NoError(t, err)
	require.Equal(t, "binary/encrypted", string(p.Metadata[converter.MetadataEncoding]))
	f := opts.FailureConverter.ErrorToFailure(errors.New("secret-repo"))
	require.Equal(t, "Encoded failure", f.GetMessage())
	require.Equal(t, "secret-repo", opts.FailureConverter.FailureToError(f).Error())
}
