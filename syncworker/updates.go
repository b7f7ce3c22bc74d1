package syncworker

import (
	"context"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	protocolpb "go.temporal.io/api/protocol/v1"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// MaxRejectedUpdateBytes bounds the rejected request an Update rejection
// carries back to the server. The SDK copies the whole request into it; one
// past the server's limit.blobSize.error (2 MiB) terminates the workflow.
const MaxRejectedUpdateBytes = 16 << 10

// boundUpdateMessages makes the client shrink oversized Update rejections in
// the workflow task completions it sends (see shrinkRejections).
func boundUpdateMessages(opts *client.Options) {
	opts.ConnectionOptions.DialOptions = append(opts.ConnectionOptions.DialOptions,
		grpc.WithChainUnaryInterceptor(boundRejectionsInterceptor))
}

// boundRejectionsInterceptor applies shrinkRejections to RespondWorkflowTaskCompleted.
func boundRejectionsInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, opts ...grpc.CallOption,
) error {
	if r, ok := req.(*workflowservice.RespondWorkflowTaskCompletedRequest); ok {
		shrinkRejections(r.GetMessages())
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

// shrinkRejections replaces, in each Update rejection whose rejected request
// input exceeds MaxRejectedUpdateBytes, the input's arguments and header by a
// short note; the ids, the Update's name and the failure stay. The server
// does not record a rejected request: the caller gets the failure only.
func shrinkRejections(msgs []*protocolpb.Message) {
	for _, m := range msgs {
		body := m.GetBody()
		if body == nil || !body.MessageIs((*updatepb.Rejection)(nil)) || proto.Size(body) <= MaxRejectedUpdateBytes {
			continue
		}
		var rej updatepb.Rejection
		if body.UnmarshalTo(&rej) != nil {
			continue
		}
		in := rej.GetRejectedRequest().GetInput()
		if in == nil || proto.Size(in) <= MaxRejectedUpdateBytes {
			continue
		}
		note := fmt.Sprintf("%q", fmt.Sprintf("rejected Update input of %d bytes omitted", proto.Size(in)))
		in.Args = &commonpb.Payloads{Payloads: []*commonpb.Payload{{
			Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(note)}}}
		in.Header = nil
		if shrunk, err := anypb.New(&rej); err == nil {
			m.Body = shrunk
		}
	}
}
