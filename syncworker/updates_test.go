package syncworker

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	protocolpb "go.temporal.io/api/protocol/v1"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// updateRequest is an Update request whose one argument is reasonBytes long.
func updateRequest(id string, reasonBytes int) *updatepb.Request {
	arg := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")},
		Data: []byte(`{"reason":"` + strings.Repeat("a", reasonBytes) + `"}`)}
	return &updatepb.Request{Meta: &updatepb.Meta{UpdateId: id, Identity: "cli"},
		Input: &updatepb.Input{Name: "resync", Args: &commonpb.Payloads{Payloads: []*commonpb.Payload{arg}}}}
}

func message(t *testing.T, id string, body proto.Message) *protocolpb.Message {
	a, err := anypb.New(body)
	require.NoError(t, err)
	return &protocolpb.Message{Id: id + "/x", ProtocolInstanceId: id, Body: a}
}

func TestOversizedUpdateRejectionsAreShrunk(t *testing.T) {
	big := &updatepb.Rejection{RejectedRequestMessageId: "big/request", RejectedRequestSequencingEventId: 7,
		RejectedRequest: updateRequest("big", 2_100_000), Failure: nil}
	small := &updatepb.Rejection{RejectedRequestMessageId: "small/request", RejectedRequest: updateRequest("small", 300)}
	accepted := &updatepb.Acceptance{AcceptedRequestMessageId: "ok/request", AcceptedRequest: updateRequest("ok", 20)}
	req := &workflowservice.RespondWorkflowTaskCompletedRequest{Messages: []*protocolpb.Message{
		message(t, "big", big), message(t, "small", small), message(t, "ok", accepted)}}
	smallBefore := proto.Clone(req.Messages[1]).(*protocolpb.Message)
	okBefore := proto.Clone(req.Messages[2]).(*protocolpb.Message)

	var sent *workflowservice.RespondWorkflowTaskCompletedRequest
	invoker := func(_ context.Context, _ string, r, _ any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
		sent = r.(*workflowservice.RespondWorkflowTaskCompletedRequest)
		return nil
	}
	require.NoError(t, boundRejectionsInterceptor(context.Background(), workflowservice.WorkflowService_RespondWorkflowTaskCompleted_FullMethodName,
		req, nil, nil, invoker))

	require.Less(t, proto.Size(sent.Messages[0].Body), 1024, "the 2.1 MB rejection is sent small")
	var got updatepb.Rejection
	require.NoError(t, sent.Messages[0].Body.UnmarshalTo(&got))
	require.Equal(t, "big/request", got.RejectedRequestMessageId)
	require.EqualValues(t, 7, got.RejectedRequestSequencingEventId)
	require.Equal(t, "big", got.RejectedRequest.Meta.UpdateId)
	require.Equal(t, "resync", got.RejectedRequest.Input.Name)
	require.Contains(t, string(got.RejectedRequest.Input.Args.Payloads[0].Data), "omitted")
	require.Equal(t, "big", sent.Messages[0].ProtocolInstanceId)
	require.True(t, proto.Equal(smallBefore, sent.Messages[1]), "a small rejection is untouched")
	require.True(t, proto.Equal(okBefore, sent.Messages[2]), "acceptances are untouched")
}
