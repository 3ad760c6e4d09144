package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/tenku-cloud/tenku/api/image"
	"github.com/tenku-cloud/tenku/internal/image/db"
	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// Sharing rules, as Glance applies them: only a shared image has members;
// its owner (or an admin) adds and removes them; only the member itself
// answers (accepted, rejected, or back to pending); a member sees the
// image whatever its answer, but lists it only once accepted.

func (a *API) memberRoutes() []rest.Route {
	return []rest.Route{
		{Method: "GET", Path: "/v2/images/{image_id}/members", Handler: a.listMembers},
		{Method: "POST", Path: "/v2/images/{image_id}/members", Handler: a.addMember},
		{Method: "GET", Path: "/v2/images/{image_id}/members/{member_id}", Handler: a.showMember},
		{Method: "PUT", Path: "/v2/images/{image_id}/members/{member_id}", Handler: a.updateMember},
		{Method: "DELETE", Path: "/v2/images/{image_id}/members/{member_id}", Handler: a.deleteMember, Status: http.StatusNoContent},
		a.importRoute(),
	}
}

func memberView(m *db.Member) image.Member {
	return image.Member{MemberID: m.Member, ImageID: m.ImageID, Status: m.Status,
		CreatedAt: isotime(m.CreatedAt), UpdatedAt: isotime(m.UpdatedAt), Schema: "/v2/schemas/member"}
}

// memberImage looks an image up for a member operation.
func (a *API) memberImage(ctx context.Context, who *authn.Context, id string) (*db.Image, error) {
	im, err := a.findImage(ctx, who, id)
	if err != nil {
		if fault.IsNotFound(err) {
			return nil, notFound("Image %s not found.", id)
		}
		return nil, err
	}
	return im, nil
}

// enforceMember is MemberAPIPolicy: get_image first, then the rule.
func (a *API) enforceMember(ctx context.Context, who *authn.Context, rule string, im *db.Image) error {
	if err := a.enforceImage(ctx, who, "get_image", im); err != nil {
		return err
	}
	if !a.allowed(ctx, who, rule, imageTarget(im, who)) {
		return policyForbidden(rule)
	}
	return nil
}

func onlyShared(im *db.Image) error {
	if im.Visibility != image.VisibilityShared {
		//lint:ignore ST1005 Glance's own message, sent to the client
		return errors.New("Only shared images have members.")
	}
	return nil
}

func (a *API) addMember(ctx context.Context, r *rest.Request) (any, error) {
	raw, err := a.requireBody(r)
	if err != nil {
		return nil, err
	}
	body, ok := raw.(map[string]any)
	if !ok {
		return nil, badRequest("Expected a member in the form: {\"member\": \"image_id\"}")
	}
	mv, ok := body["member"]
	if !ok {
		return nil, badRequest("Member to be added not specified")
	}
	member, _ := mv.(string)
	if member == "" {
		return nil, badRequest("Member can't be empty")
	}
	who := r.Auth
	id := r.Param("image_id")
	im, err := a.memberImage(ctx, who, id)
	if err != nil {
		return nil, err
	}
	if onlyShared(im) != nil {
		return nil, forbidden("Not allowed to create members for image %s.", id)
	}
	if err := a.enforceMember(ctx, who, "add_member", im); err != nil {
		if fault.Is(err, http.StatusForbidden) {
			return nil, forbidden("Not allowed to create members for image %s.", id)
		}
		return nil, err
	}
	if len(member) > 255 {
		return nil, badRequest("Member %s is too long.", member)
	}
	m, err := a.db.AddMember(ctx, id, member, a.opt.ImageMemberQuota)
	switch {
	case errors.Is(err, db.ErrDuplicate):
		return nil, conflict("Member %s is duplicated for image %s", member, id)
	case errors.Is(err, db.ErrLimit):
		return nil, tooLarge("Image member limit exceeded for image %s: The limit has been exceeded on the number of allowed image members for this image. Attempted: %d, Maximum: %d:",
			id, a.opt.ImageMemberQuota+1, a.opt.ImageMemberQuota)
	case err != nil:
		return nil, err
	}
	r.Log().InfoContext(ctx, "image shared", "image_id", id, "member", member)
	return memberView(m), nil
}

func (a *API) listMembers(ctx context.Context, r *rest.Request) (any, error) {
	if err := rejectBody(r); err != nil {
		return nil, err
	}
	who := r.Auth
	id := r.Param("image_id")
	im, err := a.memberImage(ctx, who, id)
	if err != nil {
		return nil, err
	}
	if err := onlyShared(im); err != nil {
		return nil, forbidden("Not allowed to list members for image %s: %s", id, err.Error())
	}
	if err := a.enforceMember(ctx, who, "get_members", im); err != nil {
		if fault.Is(err, http.StatusForbidden) {
			return nil, forbidden("Not allowed to list members for image %s: %s", id, fault.As(err).Message)
		}
		return nil, err
	}
	ms, err := a.db.ListMembers(ctx, id)
	if err != nil {
		return nil, err
	}
	out := image.MemberList{Members: []image.Member{}, Schema: "/v2/schemas/members"}
	t := imageTarget(im, who)
	for _, m := range ms {
		// Glance checks get_member per member; with the defaults a member
		// sees the whole list, as the owner does.
		if a.allowed(ctx, who, "get_member", t) {
			out.Members = append(out.Members, memberView(m))
		}
	}
	return out, nil
}

// lookupMember is Glance's _lookup_member.
func (a *API) lookupMember(ctx context.Context, who *authn.Context, im *db.Image, member string) (*db.Member, error) {
	if err := a.enforceMember(ctx, who, "get_member", im); err != nil {
		if fault.Is(err, http.StatusForbidden) {
			return nil, forbidden("You are not authorized to lookup the members of the image %s.", im.ID)
		}
		return nil, err
	}
	m, err := a.db.GetMember(ctx, im.ID, member)
	if db.IsNotFound(err) {
		return nil, notFound("%s not found in the member list of the image %s.", member, im.ID)
	}
	return m, err
}

func (a *API) showMember(ctx context.Context, r *rest.Request) (any, error) {
	if err := rejectBody(r); err != nil {
		return nil, err
	}
	who := r.Auth
	id := r.Param("image_id")
	im, err := a.memberImage(ctx, who, id)
	if err != nil {
		return nil, err
	}
	if err := onlyShared(im); err != nil {
		return nil, notFound("%s", err.Error())
	}
	m, err := a.lookupMember(ctx, who, im, r.Param("member_id"))
	if err != nil {
		// Forbidden becomes NotFound, so as not to reveal the member list.
		if fault.Is(err, http.StatusForbidden) {
			return nil, notFound("%s", fault.As(err).Message)
		}
		return nil, err
	}
	return memberView(m), nil
}

func (a *API) updateMember(ctx context.Context, r *rest.Request) (any, error) {
	raw, err := a.requireBody(r)
	if err != nil {
		return nil, err
	}
	body, ok := raw.(map[string]any)
	if !ok {
		return nil, badRequest("Expected a status in the form: {\"status\": \"status\"}")
	}
	sv, ok := body["status"]
	if !ok {
		return nil, badRequest("Status not specified")
	}
	who := r.Auth
	id, member := r.Param("image_id"), r.Param("member_id")
	im, err := a.memberImage(ctx, who, id)
	if err != nil {
		return nil, err
	}
	refused := forbidden("Not allowed to update members for image %s.", id)
	if onlyShared(im) != nil {
		return nil, refused
	}
	if _, err := a.lookupMember(ctx, who, im, member); err != nil {
		if fault.Is(err, http.StatusForbidden) {
			return nil, refused
		}
		return nil, err
	}
	if err := a.enforceMember(ctx, who, "modify_member", im); err != nil {
		if fault.Is(err, http.StatusForbidden) {
			return nil, refused
		}
		return nil, err
	}
	status, _ := sv.(string)
	switch image.MemberStatus(status) {
	case image.MemberPending, image.MemberAccepted, image.MemberRejected:
	default:
		return nil, badRequest("Incorrect request: Status must be \"pending\", \"accepted\" or \"rejected\".")
	}
	m, err := a.db.SetMemberStatus(ctx, id, member, image.MemberStatus(status))
	if db.IsNotFound(err) {
		return nil, notFound("%s not found in the member list of the image %s.", member, id)
	}
	if err != nil {
		return nil, err
	}
	r.Log().InfoContext(ctx, "image member answered", "image_id", id, "member", member, "status", status)
	return memberView(m), nil
}

func (a *API) deleteMember(ctx context.Context, r *rest.Request) (any, error) {
	if err := rejectBody(r); err != nil {
		return nil, err
	}
	who := r.Auth
	id, member := r.Param("image_id"), r.Param("member_id")
	im, err := a.memberImage(ctx, who, id)
	if err != nil {
		return nil, err
	}
	refused := forbidden("Not allowed to delete members for image %s.", id)
	if onlyShared(im) != nil {
		return nil, refused
	}
	if _, err := a.lookupMember(ctx, who, im, member); err != nil {
		if fault.Is(err, http.StatusForbidden) {
			return nil, refused
		}
		return nil, err
	}
	if err := a.enforceMember(ctx, who, "delete_member", im); err != nil {
		if fault.Is(err, http.StatusForbidden) {
			return nil, refused
		}
		return nil, err
	}
	if err := a.db.DeleteMember(ctx, id, member); err != nil {
		if db.IsNotFound(err) {
			return nil, notFound("%s not found in the member list of the image %s.", member, id)
		}
		return nil, err
	}
	r.Log().InfoContext(ctx, "image unshared", "image_id", id, "member", member)
	return nil, nil
}
