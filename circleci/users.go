package circleci

import (
	"context"
	"encoding/json"
	"net/http"
)

// Routes of the user operations.
const (
	RouteMe             = "/api/v2/me"
	RouteCollaborations = "/api/v2/me/collaborations"
	RouteUser           = "/api/v2/user/{id}"
)

// User is a CircleCI user (spec schema "User"), as answered by /me and /user/{id}.
type User struct {
	ID        string  `json:"id"`
	Login     string  `json:"login"`
	Name      string  `json:"name"`
	AvatarURL *string `json:"avatar_url"`

	// Raw is the item exactly as CircleCI sent it.
	Raw json.RawMessage `json:"-"`
}

// Collaboration is an organization of the token's user (/me/collaborations); both the
// spec's "vcs-type" and the live "vcs_type" decode into VCSType.
type Collaboration struct {
	ID        *string `json:"id"`
	VCSType   string  `json:"vcs_type"`
	Name      string  `json:"name"`
	AvatarURL string  `json:"avatar_url"`
	Slug      string  `json:"slug"`

	// Raw is the item exactly as CircleCI sent it.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes a user and keeps its raw JSON.
func (u *User) UnmarshalJSON(b []byte) error {
	type plain User
	if err := json.Unmarshal(b, (*plain)(u)); err != nil {
		return err
	}
	u.Raw = keepRaw(b)
	return nil
}

// UnmarshalJSON decodes a collaboration, accepting both "vcs_type" (what CircleCI
// sends) and "vcs-type" (what the spec says), and keeps its raw JSON.
func (c *Collaboration) UnmarshalJSON(b []byte) error {
	type plain Collaboration
	var v struct {
		plain
		VCSTypeSpec *string `json:"vcs-type"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*c = Collaboration(v.plain)
	if c.VCSType == "" && v.VCSTypeSpec != nil {
		c.VCSType = *v.VCSTypeSpec
	}
	c.Raw = keepRaw(b)
	return nil
}

// Me returns the token's user: the credential probe (a bad token gives
// ClassUnauthorized, some non-user tokens ClassForbidden).
func (c *Client) Me(ctx context.Context) (User, error) {
	r := &request{method: http.MethodGet, route: RouteMe, path: "/api/v2/me"}
	return get(ctx, c, r, decodeObject[User])
}

// User returns the user with id id (as in Workflow.StartedBy); one that does not exist
// gives NotFoundEntity.
func (c *Client) User(ctx context.Context, id string) (User, error) {
	if id == "" {
		return User{}, invalidArgument(http.MethodGet, RouteUser, "empty user id")
	}
	r := &request{method: http.MethodGet, route: RouteUser, path: "/api/v2/user/" + escapeSegment(id)}
	return get(ctx, c, r, decodeObject[User])
}

// Collaborations returns the token's user's organizations (not paginated); their slugs
// are OrgPipelinesPage's.
func (c *Client) Collaborations(ctx context.Context) ([]Collaboration, error) {
	r := &request{method: http.MethodGet, route: RouteCollaborations, path: "/api/v2/me/collaborations"}
	return get(ctx, c, r, decodeArray[Collaboration])
}
