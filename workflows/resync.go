package workflows

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/activities"
)

// Message names ConnectionSync handles. The Update and the signal have the same
// name and payload: the Update answers, the signal does not.
const (
	// ResyncUpdate asks a connection's sync for another cycle and answers which
	// cycle will include the request:
	//
	//	temporal workflow update execute --workflow-id circleci-sync/acme --name resync --input '{"reason":"deploy"}'
	ResyncUpdate = "resync"
	// ResyncSignal asks the same without an answer:
	//
	//	temporal workflow signal --workflow-id circleci-sync/acme --name resync --input '{"reason":"deploy"}'
	ResyncSignal = "resync"
)

// MaxResyncReason bounds ResyncRequest.Reason, in bytes.
const MaxResyncReason = 200

// ResyncRequest asks a running ConnectionSync for another sync cycle.
type ResyncRequest struct {
	// Reason says why, for the progress query and the logs (optional, at most
	// MaxResyncReason bytes of UTF-8).
	Reason string `json:"reason,omitempty"`
	size   int    // of the JSON decoded, for Validate
}

// Validate checks the request: a non-retryable ApplicationError of type
// "invalid_input" when the reason is too long or not UTF-8.
func (r ResyncRequest) Validate() error {
	switch {
	case len(r.Reason) > MaxResyncReason:
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("resync reason is %d bytes: at most %d", len(r.Reason), MaxResyncReason),
			activities.ErrInvalidInput, nil)
	case !utf8.ValidString(r.Reason):
		return temporal.NewNonRetryableApplicationError("resync reason is not valid UTF-8", activities.ErrInvalidInput, nil)
	case strings.ContainsFunc(r.Reason, unicode.IsControl):
		return temporal.NewNonRetryableApplicationError("resync reason contains a control character", activities.ErrInvalidInput, nil)
	case r.size > MaxResyncRequestBytes:
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("resync request is %d bytes: at most %d", r.size, MaxResyncRequestBytes), activities.ErrInvalidInput, nil)
	}
	return nil
}

// Statuses of a ResyncResponse.
const (
	// ResyncIncluded: the cycle starting now includes the request (nothing of it
	// has run yet: the sync was just started, maybe by this request, or was
	// waiting for its next cycle).
	ResyncIncluded = "included"
	// ResyncQueued: a cycle is running; the next one, which starts when it ends,
	// includes the request.
	ResyncQueued = "queued"
	// ResyncCoalesced: as queued, and another request already asked for that
	// cycle: both are served by it.
	ResyncCoalesced = "coalesced"
)

// ResyncResponse is the resync Update's answer.
type ResyncResponse struct {
	// Cycle is the number of the sync cycle that includes the request.
	Cycle int `json:"cycle"`
	// Status is ResyncIncluded, ResyncQueued or ResyncCoalesced.
	Status string `json:"status"`
	// RunningCycle is the cycle running when the request arrived (0 when none:
	// a continuous sync between cycles).
	RunningCycle int `json:"running_cycle"`
	// Pending is how many requests the cycle Cycle now serves.
	Pending int `json:"pending"`
}

// requestResync records a re-sync request in st and answers it. A cycle that has
// not started its first activity includes it; a continuous sync waiting between
// cycles starts the next one at once; otherwise it goes to the next cycle, where
// requests coalesce.
func requestResync(st *ConnectionSyncState, req ResyncRequest) ResyncResponse {
	st.LastResyncReason = req.Reason
	switch {
	case st.Phase == PhaseWaiting:
		st.ResyncPending++
		return ResyncResponse{Cycle: st.Cycle + 1, Status: ResyncIncluded, Pending: st.ResyncPending}
	case !st.Begun:
		st.Included++
		return ResyncResponse{Cycle: st.Cycle, Status: ResyncIncluded, RunningCycle: st.Cycle, Pending: st.Included}
	}
	st.ResyncPending++
	status := ResyncQueued
	if st.ResyncPending > 1 {
		status = ResyncCoalesced
	}
	return ResyncResponse{Cycle: st.Cycle + 1, Status: status, RunningCycle: st.Cycle, Pending: st.ResyncPending}
}

// handleResyncs registers the resync Update (validated) and a goroutine serving
// the resync signal; both record requests in st.
func handleResyncs(ctx workflow.Context, st *ConnectionSyncState) (workflow.ReceiveChannel, error) {
	err := workflow.SetUpdateHandlerWithOptions(ctx, ResyncUpdate,
		func(ctx workflow.Context, req ResyncRequest) (ResyncResponse, error) {
			res := requestResync(st, req)
			workflow.GetLogger(ctx).Info("re-sync requested (update)", "reason", req.Reason, "cycle", res.Cycle,
				"status", res.Status)
			return res, nil
		},
		workflow.UpdateHandlerOptions{
			Validator:   func(_ workflow.Context, req ResyncRequest) error { return req.Validate() },
			Description: "Ask for another sync cycle; answers which cycle includes the request. Input: {\"reason\": \"...\"}",
		})
	if err != nil {
		return nil, fmt.Errorf("set the %s update handler: %w", ResyncUpdate, err)
	}
	ch := workflow.GetSignalChannel(ctx, ResyncSignal)
	// The goroutine waits for a signal to be buffered, then takes it: a
	// goroutine blocked in Receive would be handed the signal directly, and
	// count it only after the main coroutine (which runs first) has completed
	// or continued as new without it. Buffered, a signal is drained by the main
	// coroutine at those points (drainResyncSignals) if this goroutine has not
	// taken it yet.
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			if err := workflow.Await(ctx, func() bool { return ch.Len() > 0 }); err != nil {
				return
			}
			drainResyncSignals(ctx, ch, st)
		}
	})
	return ch, nil
}

// receiveResyncSignal records a signalled request; an invalid one is logged and
// dropped (a signal cannot be refused).
func receiveResyncSignal(ctx workflow.Context, st *ConnectionSyncState, req ResyncRequest) {
	if err := req.Validate(); err != nil {
		workflow.GetLogger(ctx).Warn("resync signal dropped", "error", err)
		return
	}
	res := requestResync(st, req)
	workflow.GetLogger(ctx).Info("re-sync requested (signal)", "reason", req.Reason, "cycle", res.Cycle,
		"status", res.Status)
}

// drainResyncSignals records the signals delivered but not yet received, before
// the run continues as new (they would be lost).
func drainResyncSignals(ctx workflow.Context, ch workflow.ReceiveChannel, st *ConnectionSyncState) {
	for {
		var req ResyncRequest
		if !ch.ReceiveAsync(&req) {
			return
		}
		receiveResyncSignal(ctx, st, req)
	}
}
