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

// ResolveUsers fetches the users the projects' workflows and jobs reference,
// once each, less those stored within FreshFor. The sorted ids are fetched
// concurrently and written in order, usersChunk per batch, each followed by a
// heartbeated UsersProgress from which a retry resumes; when a read fails, the
// users before it are written first. A missing user goes to the skipped
// ledger.
func (a *Activities) ResolveUsers(ctx context.Context, in ResolveUsersInput) (ResolveUsersResult, error) {
	if err := a.checkStore(); err != nil {
		return ResolveUsersResult{}, err
	}
	u := &userSync{in: in}
	heartbeatDetails(ctx, &u.progress)
	u.activityRun = a.startRun(ctx, in.Connection, &u.progress.Counts, func() any { return u.progress })
	u.reportAs(ctx, StepUsers, "")
	defer u.stop()
	todo, err := u.todo(ctx)
	if err != nil {
		return u.res, err
	}
	u.res.Counts = u.progress.Counts
	start := min(max(u.progress.Next, 0), len(todo))
	if u.progress.LastUserID != "" {
		start = indexAfter(todo, u.progress.LastUserID)
	}
	if start == len(todo) {
		u.log.Info("users resolved", "referenced", u.res.Referenced, "fresh", u.res.Fresh, "fetched", 0)
		return u.res, nil
	}
	if err := u.connect(ctx); err != nil {
		return u.res, err
	}
	for from := start; from < len(todo); from += usersChunk {
		// Users after the first chunk may have been fetched since the list was
		// made, by another connection: they are fresh now.
		err := u.chunk(ctx, todo[from:min(from+usersChunk, len(todo))], from, in.FreshFor > 0 && from > start)
		u.res.Counts = u.progress.Counts
		if err != nil {
			return u.res, err
		}
	}
	c := u.res.Counts
	u.log.Info("users resolved", "referenced", u.res.Referenced, "fresh", u.res.Fresh, "fetched", c.Of(store.KindUser),
		"skipped", c.Skipped, "requests", c.Requests)
	return u.res, nil
}

// userSync is one run of ResolveUsers.
type userSync struct {
	*activityRun
	in       ResolveUsersInput
	progress UsersProgress
	res      ResolveUsersResult
}

// todo returns the sorted ids of the users to fetch.
func (u *userSync) todo(ctx context.Context) ([]string, error) {
	refs, err := u.a.Store.UserRefs(ctx, u.in.Projects)
	if err != nil {
		return nil, applicationError(ctx, err, "read the user references")
	}
	u.res.Referenced = int64(len(refs))
	return u.notFresh(ctx, refs)
}

// notFresh returns ids less the users stored within FreshFor, counting those
// in res.Fresh.
func (u *userSync) notFresh(ctx context.Context, ids []string) ([]string, error) {
	if u.in.FreshFor <= 0 {
		return ids, nil
	}
	fresh, err := u.a.Store.UsersFetchedSince(ctx, ids, time.Now().Add(-u.in.FreshFor.D()))
	if err != nil {
		return nil, applicationError(ctx, err, "read the users fetched recently")
	}
	out := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return fresh[id] })
	u.res.Fresh += int64(len(ids) - len(out))
	return out, nil
}

// userOutcome is a user read, its ledger entry, or why not.
type userOutcome struct {
	user    *circleci.User
	skipped *store.Skipped
	err     error
}

// chunk fetches and writes the users of chunk, the ids from index from of the
// list; those fetched recently are left out when recheck.
func (u *userSync) chunk(ctx context.Context, chunk []string, from int, recheck bool) error {
	ids := chunk
	if recheck {
		var err error
		if ids, err = u.notFresh(ctx, chunk); err != nil {
			return err
		}
	}
	outs := u.fetch(ctx, ids)
	// The users before the first failure are written, so that a retry resumes
	// after them: under a sustained rate of 429s a whole chunk rarely succeeds.
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
	advance := func() {
		switch {
		case failed == nil: // the chunk is done, the users found fresh included
			u.progress.Next = from + len(chunk)
			u.progress.LastUserID = chunk[len(chunk)-1]
		case len(done) > 0:
			u.progress.LastUserID = done[len(done)-1]
			u.progress.Next = from + slices.Index(chunk, u.progress.LastUserID) + 1
		}
	}
	if len(done) == 0 {
		advance()
		u.checkpoint()
	} else if err := u.commit(ctx, b, advance); err != nil {
		u.fill()
		return applicationError(ctx, err, fmt.Sprintf("write %d users", len(b.Users)))
	}
	if failed != nil {
		return applicationError(ctx, failed, "resolve users")
	}
	return nil
}

// fetch reads the users ids concurrently.
func (u *userSync) fetch(ctx context.Context, ids []string) []userOutcome {
	outs := make([]userOutcome, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user, err := u.api.user(ctx, id)
			switch s := skipped(store.KindUser, id, "", err); {
			case err == nil:
				outs[i].user = &user
			case s != nil:
				outs[i].skipped = s
			default:
				outs[i].err = fmt.Errorf("read user %s: %w", id, err)
			}
		}()
	}
	wg.Wait()
	return outs
}
