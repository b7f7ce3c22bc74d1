package syncworker

import (
	"context"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/mocks"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// A project sync's activity reports to its workflow and to its connection's;
// the connection's own activity, and one of a project workflow that is not the
// connection's child, only to their workflow.
func TestSignalLiveReachesTheProjectAndItsConnection(t *testing.T) {
	c := &mocks.Client{}
	type call struct {
		id, run string
		p       activities.LiveProgress
	}
	var calls []call
	c.On("SignalWorkflow", mock.Anything, mock.Anything, mock.Anything, workflows.LiveProgressSignal, mock.Anything).
		Run(func(args mock.Arguments) {
			calls = append(calls, call{args.String(1), args.String(2), args.Get(4).(activities.LiveProgress)})
		}).Return(nil)
	report := signalLive(c)
	project := workflows.ProjectWorkflowID("demo", "gh/acme/api")
	p := activities.LiveProgress{Step: activities.StepProject, Project: "gh/acme/api"}
	require.NoError(t, report(context.Background(), activities.LiveTarget{WorkflowID: project, RunID: "r1",
		ConnectionID: "demo"}, p))
	require.Equal(t, []call{{project, "r1", p}, {workflows.ConnectionWorkflowID("demo"), "", p}}, calls)

	calls = nil
	users := activities.LiveProgress{Step: activities.StepUsers}
	conn := workflows.ConnectionWorkflowID("demo")
	require.NoError(t, report(context.Background(), activities.LiveTarget{WorkflowID: conn, RunID: "r2",
		ConnectionID: "demo"}, users))
	require.NoError(t, report(context.Background(), activities.LiveTarget{WorkflowID: "someone-elses", RunID: "r3",
		ConnectionID: "demo"}, p))
	require.Equal(t, []call{{conn, "r2", users}, {"someone-elses", "r3", p}}, calls)
}
