package activities

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/circleci-sync/circleci-sync/store"
)

// DiscoverCycleRest reads the org pipeline list a first DiscoverCycle left (its
// Rest), while the projects it returned sync: the projects found that the cycle
// lacks are appended to it (the offsets the workflow holds stay valid), and the
// record it stages gets them, the watermark and the discovery's date. It
// returns the cycle's new project count and its own requests.
func (a *Activities) DiscoverCycleRest(ctx context.Context, in DiscoverInput) (CycleDiscovery, error) {
	c, err := a.cycle(ctx)
	if err != nil {
		return CycleDiscovery{}, err
	}
	conn := in.Connection
	org := strings.TrimSpace(conn.OrgSlug)
	var prog DiscoverProgress
	heartbeatDetails(ctx, &prog)
	r := a.startRun(ctx, conn, nil, func() any { return prog })
	defer r.stop()
	if err := r.connect(ctx); err != nil {
		return CycleDiscovery{}, err
	}
	truncated, err := readOrgPipelines(ctx, r.api, org, 0, time.Time{}, &prog, r.hb)
	res := CycleDiscovery{Requests: r.api.Requests()}
	if err != nil {
		return res, r.diagnose(ctx, err, "list the pipelines of organization "+org)
	}
	var added []string
	for _, s := range prog.Slugs {
		if !slices.Contains(c.Projects, s) {
			added = append(added, s)
		}
	}
	c.Projects = append(c.Projects, added...)
	c.Staged = restStaged(c, org, prog, added, truncated)
	if err := a.Store.SaveCycle(ctx, c); err != nil {
		return res, applicationError(ctx, err, "save the cycle of connection "+c.ConnectionID)
	}
	r.log.Info("org pipeline list read beside the projects' syncs", "pages", prog.Pages, "added", len(added),
		"projects", len(c.Projects), "requests", res.Requests)
	res.Projects = len(c.Projects)
	return res, nil
}

// restStaged is the record c's discovery staged, with the projects the org
// pipeline list added, its watermark (unless truncated) and the discovery's date.
func restStaged(c store.Cycle, org string, prog DiscoverProgress, added []string, truncated bool) *store.ConnectionState {
	var st store.ConnectionState
	if c.Staged != nil {
		st = *c.Staged
	}
	if st.ConnectionID == "" {
		st.ConnectionID, st.OrgSlug = c.ConnectionID, org
	}
	st.Projects = mergeRecord(org, st.Projects, added, nil)
	st.DiscoveredAt = time.Now().UTC()
	if prog.Newest.After(st.DiscoveryWatermark) && !truncated {
		st.DiscoveryWatermark = prog.Newest.UTC()
	}
	return &st
}
