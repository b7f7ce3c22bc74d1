package circleci

import (
	"context"
	"net/http"
)

// Me returns the user the token belongs to (GET /api/v2/me). It is the credential
// probe: a bad or expired token gives ClassUnauthorized (some non-user tokens
// ClassForbidden).
func (c *Client) Me(ctx context.Context) (User, error) {
	r := &request{method: http.MethodGet, route: RouteMe, path: "/api/v2/me"}
	return get(ctx, c, r, decodeObject[User])
}

// User returns the user with CircleCI id id (GET /api/v2/user/{id}), the ids found in
// Workflow.StartedBy, Job.ApprovedBy and the like. A user that does not exist (or no
// longer does) gives ClassNotFound with NotFoundEntity.
func (c *Client) User(ctx context.Context, id string) (User, error) {
	if id == "" {
		return User{}, invalidArgument(http.MethodGet, RouteUser, "empty user id")
	}
	r := &request{method: http.MethodGet, route: RouteUser, path: "/api/v2/user/" + escapeSegment(id)}
	return get(ctx, c, r, decodeObject[User])
}

// Collaborations returns the organizations the token's user belongs to or
// collaborates with (GET /api/v2/me/collaborations, a bare array, not paginated).
// Their slugs are the org slugs of OrgPipelinesPage.
func (c *Client) Collaborations(ctx context.Context) ([]Collaboration, error) {
	r := &request{method: http.MethodGet, route: RouteCollaborations, path: "/api/v2/me/collaborations"}
	return get(ctx, c, r, decodeArray[Collaboration])
}
