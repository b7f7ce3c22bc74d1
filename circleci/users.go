package circleci

import (
	"context"
	"net/http"
)

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
