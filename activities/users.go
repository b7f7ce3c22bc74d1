package activities

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/store"
)

// usersChunk is how many users ResolveUsers writes per batch (and heartbeat).
const usersChunk = 50

// ResolveUsers fetches the users referenced by the projects' workflows and jobs,
// once each, skipping those stored within FreshFor. Missing users go to the
// skipped ledger.
//
// The ids to fetch are sorted; they are fetched PageConcurrency at once and
// written in order, usersChunk per batch, each batch followed by a heartbeated
// UsersProgress, so a retry resumes after the last user written (LastUserID).
// When a read fails (a 429, say), the users before it in the batch are written
// and heartbeated first, so every attempt keeps what it fetched in order. A 404 is
// recorded as "not_found", a user that keeps answering 5xx as "server_error";
// a user fetched is cleared from the ledger.
func (a *Activities) ResolveUsers(ctx context.Context, in ResolveUsersInput) (ResolveUsersResult, error) {
	if err := a.checkStore(); err != nil {
		return ResolveUsersResult{}, err
	}
	conn := in.Connection
	log := logger(ctx, conn)
	var res ResolveUsersResult
	var progress UsersProgress
	heartbeatDetails(ctx, &progress)
	// Heartbeats start before the store queries and the first request (which
	// may wait long for the limiter), re-sending the progress resumed from.
	hb, stopHeartbeats := newHeartbeater(ctx, progress)
	defer stopHeartbeats()

	refs, err := a.Store.UserRefs(ctx, in.Projects)
	if err != nil {
		return res, applicationError(ctx, err, "read the user references")
	}
	res.Referenced = int64(len(refs))
	todo := refs
	if in.FreshFor > 0 {
		fresh, err := a.Store.UsersFetchedSince(ctx, refs, time.Now().Add(-in.FreshFor))
		if err != nil {
			return res, applicationError(ctx, err, "read the users fetched recently")
		}
		todo = make([]string, 0, len(refs))
		for _, id := range refs {
			if fresh[id] {
				res.Fresh++
			} else {
				todo = append(todo, id)
			}
		}
	}
	res.Counts = progress.Counts
	start := min(max(progress.Next, 0), len(todo))
	if progress.LastUserID != "" {
		start, _ = slices.BinarySearch(todo, progress.LastUserID)
		if start < len(todo) && todo[start] == progress.LastUserID {
			start++
		}
	}
	if start == len(todo) {
		log.Info("users resolved", "referenced", res.Referenced, "fresh", res.Fresh, "fetched", 0)
		return res, nil
	}

	api, err := a.newAPI(ctx, conn)
	if err != nil {
		return res, err
	}
	base := progress.Counts
	f := a.fetcher(api, "", hb)

	type outcome struct {
		user    *circleci.User
		skipped *store.Skipped
		err     error
	}
	for from := start; from < len(todo); from += usersChunk {
		chunk := todo[from:min(from+usersChunk, len(todo))]
		ids := chunk
		if in.FreshFor > 0 && from > start {
			// Another connection (of this worker or another) may have fetched
			// some of them since the list was made: they are fresh now. (The
			// first chunk's are as fresh as the list, just made.)
			fresh, err := a.Store.UsersFetchedSince(ctx, chunk, time.Now().Add(-in.FreshFor))
			if err != nil {
				return res, applicationError(ctx, err, "read the users fetched recently")
			}
			ids = slices.DeleteFunc(slices.Clone(chunk), func(id string) bool { return fresh[id] })
			res.Fresh += int64(len(chunk) - len(ids))
		}
		outs := make([]outcome, len(ids))
		var wg sync.WaitGroup
		for i, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u, err := retry(ctx, f, func(ctx context.Context) (circleci.User, error) { return api.user(ctx, id) })
				if err == nil {
					outs[i].user = &u
					return
				}
				if reason, status, msg, ok := skipReason(err); ok {
					outs[i].skipped = &store.Skipped{EntityRef: store.EntityRef{Kind: store.KindUser, ID: id},
						Reason: reason, HTTPStatus: status, Message: msg}
					return
				}
				outs[i].err = fmt.Errorf("read user %s: %w", id, err)
			}()
		}
		wg.Wait()
		// The users before the first failure are written (and heartbeated)
		// before the activity fails with it, so that a retry resumes after them:
		// under a sustained rate of 429s a whole chunk rarely succeeds at once.
		var b store.Batch
		var failed error
		done := ids
		for i, o := range outs {
			if o.err != nil {
				failed, done = o.err, ids[:i]
				break
			}
			if o.user != nil {
				b.Users = append(b.Users, *o.user)
				b.Resolved = append(b.Resolved, store.EntityRef{Kind: store.KindUser, ID: ids[i]})
			} else {
				b.Skipped = append(b.Skipped, *o.skipped)
			}
		}
		if len(done) > 0 {
			ws, err := a.write(ctx, b)
			if err != nil {
				api.fillRequests(&progress.Counts, base)
				res.Counts = progress.Counts
				return res, applicationError(ctx, err, fmt.Sprintf("write %d users", len(b.Users)))
			}
			progress.Counts.addBatch(b, ws)
		}
		switch {
		case failed == nil:
			// The chunk is done, the users found fresh included.
			progress.Next = from + len(chunk)
			progress.LastUserID = chunk[len(chunk)-1]
		case len(done) > 0:
			progress.LastUserID = done[len(done)-1]
			progress.Next = from + slices.Index(chunk, progress.LastUserID) + 1
		}
		api.fillRequests(&progress.Counts, base)
		hb.record(progress)
		if failed != nil {
			res.Counts = progress.Counts
			return res, applicationError(ctx, failed, "resolve users")
		}
	}
	res.Counts = progress.Counts
	log.Info("users resolved", "referenced", res.Referenced, "fresh", res.Fresh, "fetched", res.Counts.Of(store.KindUser),
		"skipped", res.Counts.Skipped, "requests", res.Counts.Requests)
	return res, nil
}
