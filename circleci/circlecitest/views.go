package circlecitest

import "strings"

// What one token sees of the world. All must be called with Server.mu held.

// collaborations lists the orgs of the projects pr sees, in org order, then
// the user's own VCS account, which was never used on CircleCI (id null).
func (w *world) collaborations(pr principal) []Collaboration {
	var out []Collaboration
	for _, o := range w.orgs {
		seen := false
		for i := 0; i < pr.visible; i++ {
			if w.projectOrg[i] == o {
				seen = true
				break
			}
		}
		if !seen {
			continue
		}
		id := o.id
		out = append(out, Collaboration{ID: &id, VCSType: o.vcsType, Name: o.name, AvatarURL: o.avatar, Slug: o.slug})
	}
	me := w.userByID[pr.meID]
	avatar := ""
	if me.AvatarURL != nil {
		avatar = *me.AvatarURL
	}
	out = append(out, Collaboration{VCSType: "github", Name: me.Login, AvatarURL: avatar, Slug: "gh/" + me.Login})
	return out
}

// followedProjects lists the projects pr sees as v1.1 /projects does ("following":
// false, as CircleCI answers).
func (w *world) followedProjects(pr principal) []FollowedProject {
	var out []FollowedProject
	for i := 0; i < pr.visible; i++ {
		p := w.projects[i]
		parts := strings.SplitN(p.Slug, "/", 3)
		f := FollowedProject{Username: parts[1], Reponame: parts[2], VCSType: p.VCSType,
			DefaultBranch: p.VCSInfo.DefaultBranch, ProjectSlug: p.Slug}
		switch p.VCSType {
		case "circleci":
			f.VCSURL = "//circleci.com/" + parts[1] + "/" + parts[2]
		default:
			f.VCSURL = p.VCSInfo.VCSURL
		}
		out = append(out, f)
	}
	return out
}
