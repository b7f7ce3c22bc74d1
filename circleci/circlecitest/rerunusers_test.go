package circlecitest

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAdvanceRerunUsers: the reruns are started by users new to the dataset,
// whom the API serves and the truth lists; without RerunUsers no user is added.
func TestAdvanceRerunUsers(t *testing.T) {
	s := NewServer(Options{Seed: 12})
	defer s.Close()
	before := s.Expected(s.Token())
	require.Empty(t, s.Advance(Advance{Reruns: 1}).RerunUsers)
	res := s.Advance(Advance{Reruns: 2, RerunsFromFailed: 1, RerunUsers: 2})
	require.Len(t, res.RerunUsers, 2)
	ex := s.Expected(s.Token())
	for _, id := range res.RerunUsers {
		assert.False(t, slices.ContainsFunc(before.Users, func(u User) bool { return u.ID == id }), "new: %s", id)
		assert.True(t, slices.ContainsFunc(ex.Users, func(u User) bool { return u.ID == id }), "in the truth: %s", id)
		var u map[string]any
		get(t, s, "/api/v2/user/"+id, &u)
		assert.Equal(t, id, u["id"])
	}
	for i, wf := range append(slices.Clone(res.RerunWorkflows), res.RerunFromFailedWorkflows...) {
		var got map[string]any
		get(t, s, "/api/v2/workflow/"+wf, &got)
		assert.Equal(t, res.RerunUsers[i%2], got["started_by"], "workflow %s", wf)
	}
}
