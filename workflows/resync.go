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

// ResyncUpdate and ResyncSignal ask a ConnectionSync for another cycle, with a
// ResyncRequest; the Update answers which cycle includes it.
const (
	ResyncUpdate = "resync"
	ResyncSignal = "resync"
)

// MaxResyncReason bounds ResyncRequest.Reason, in bytes.
const MaxResyncReason = 200

// ResyncRequest asks a running ConnectionSync for another sync cycle; Reason is
// optional.
type ResyncRequest struct {
	Reason string `json:"reason,omitempty"`
	size   int    // of the JSON decoded, for Validate
}

// Validate refuses a reason too long or not UTF-8 (non-retryable invalid_input).
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

// Statuses of a ResyncResponse: the cycle starting now includes the request,
// or the next one does (queued; coalesced when another request asked first).
const (
	ResyncIncluded  = "included"
	ResyncQueued    = "queued"
	ResyncCoalesced = "coalesced"
)

// ResyncResponse is the resync Update's answer: the cycle that includes the
// request, the one running when it came (0: none), and the requests it serves.
type ResyncResponse struct {
	Cycle        int    `json:"cycle"`
	Status       string `json:"status"`
	RunningCycle int    `json:"running_cycle"`
	Pending      int    `json:"pending"`
}

// requestResync records a request in st and answers it: a cycle not yet begun
// includes it, a waiting sync starts the next cycle, else the next cycle does.
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
	// Wait for a buffered signal rather than block in Receive: a blocked
	// goroutine would count it only after the main coroutine has ended the
	// run, while a buffered one is drained by drainResyncSignals.
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

// receiveResyncSignal records a signalled request; an invalid one is counted,
// logged without its content and dropped (a signal cannot be refused).
func receiveResyncSignal(ctx workflow.Context, st *ConnectionSyncState, req ResyncRequest) {
	if err := req.Validate(); err != nil {
		st.DroppedSignals++
		workflow.GetLogger(ctx).Warn("resync signal dropped", "error", err, "dropped", st.DroppedSignals)
		return
	}
	res := requestResync(st, req)
	workflow.GetLogger(ctx).Info("re-sync requested (signal)", "reason", req.Reason, "cycle", res.Cycle,
		"status", res.Status)
}

// drainResyncSignals records the signals delivered but not yet received.
func drainResyncSignals(ctx workflow.Context, ch workflow.ReceiveChannel, st *ConnectionSyncState) {
	for {
		var req ResyncRequest
		if !ch.ReceiveAsync(&req) {
			return
		}
		receiveResyncSignal(ctx, st, req)
	}
}
