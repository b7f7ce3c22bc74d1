package circlecitest

// startReruns adds n users and makes them, round-robin, the starters of the
// step's reruns (from start and from failed); it lists them in res.
func (w *world) startReruns(g gen, n int, res *AdvanceResult) {
	users := make([]*User, n)
	for i := range users {
		users[i] = w.addUser(g, len(w.users))
		res.RerunUsers = append(res.RerunUsers, users[i].ID)
	}
	for i, id := range append(append([]string{}, res.RerunWorkflows...), res.RerunFromFailedWorkflows...) {
		w.workflows[id].StartedBy = users[i%n].ID
	}
}
