package activities

import (
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// userReuseWindow is how long a user fetched serves the process's other runs.
const userReuseWindow = time.Minute

// maxRecentUsers bounds the users userFetches keeps.
const maxRecentUsers = 10000

// userFetches shares a process's fetches of users, in flight or within
// userReuseWindow. Only successes are shared: a caller whose shared fetch
// failed fetches again itself. Its zero value is ready.
type userFetches struct {
	flight singleflight.Group
	mu     sync.Mutex
	recent map[string]recentUser
}

// recentUser is a user fetched at a time.
type recentUser struct {
	user circleci.User
	at   time.Time
}

// get returns the user of key: a recent one, a fetch in flight's, or fetch's.
func (u *userFetches) get(key string, fetch func() (circleci.User, error)) (circleci.User, error) {
	now := time.Now()
	u.mu.Lock()
	r, ok := u.recent[key]
	u.mu.Unlock()
	if ok && now.Sub(r.at) < userReuseWindow {
		return r.user, nil
	}
	led := false
	v, err, _ := u.flight.Do(key, func() (any, error) {
		led = true
		user, err := fetch()
		if err == nil {
			u.remember(key, user, time.Now())
		}
		return user, err
	})
	if err != nil && !led {
		return fetch()
	}
	user, _ := v.(circleci.User)
	return user, err
}

// remember keeps user, dropping the expired entries when the map is full.
func (u *userFetches) remember(key string, user circleci.User, at time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.recent == nil {
		u.recent = map[string]recentUser{}
	}
	if len(u.recent) >= maxRecentUsers {
		for k, r := range u.recent {
			if at.Sub(r.at) >= userReuseWindow {
				delete(u.recent, k)
			}
		}
		if len(u.recent) >= maxRecentUsers {
			clear(u.recent)
		}
	}
	u.recent[key] = recentUser{user: user, at: at}
}
