package identity

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	"github.com/tenku-cloud/tenku/internal/identity/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// ---- tags ----

func (s *Service) tagProject(ctx context.Context, r *rest.Request, rule string) (*store.Project, error) {
	p, err := s.projectOr404(ctx, r.Param("project_id"))
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, rule, map[string]any{"target": map[string]any{"project": projectTarget(p)}, "project_id": p.ID}); err != nil {
		return nil, err
	}
	return p, nil
}

func (s *Service) listProjectTags(ctx context.Context, r *rest.Request) (any, error) {
	p, err := s.tagProject(ctx, r, "identity:list_project_tags")
	if err != nil {
		return nil, err
	}
	return map[string]any{"tags": p.Tags}, nil
}

func (s *Service) setProjectTags(ctx context.Context, r *rest.Request) (any, error) {
	p, err := s.tagProject(ctx, r, "identity:update_project_tags")
	if err != nil {
		return nil, err
	}
	raw, err := r.RawJSON()
	if err != nil {
		return nil, err
	}
	var in struct {
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, fault.BadRequest("Malformed request body: %v", err).WithType("ValidationError")
	}
	sort.Strings(in.Tags)
	p.Tags = in.Tags
	if p.Tags == nil {
		p.Tags = []string{}
	}
	if err := s.st.SetProjectTags(ctx, p.ID, p.Tags); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return map[string]any{"tags": p.Tags, "project": s.renderProject(s.baseURL(r), p)}, nil
}

func (s *Service) deleteProjectTags(ctx context.Context, r *rest.Request) (any, error) {
	p, err := s.tagProject(ctx, r, "identity:delete_project_tags")
	if err != nil {
		return nil, err
	}
	if err := s.st.SetProjectTags(ctx, p.ID, nil); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return nil, nil
}

func (s *Service) checkProjectTag(ctx context.Context, r *rest.Request) (any, error) {
	p, err := s.tagProject(ctx, r, "identity:get_project_tag")
	if err != nil {
		return nil, err
	}
	for _, t := range p.Tags {
		if t == r.Param("value") {
			return nil, nil
		}
	}
	return nil, fault.NotFound("Tag %s not found for project %s", r.Param("value"), p.ID).WithType("ProjectTagNotFound")
}

func (s *Service) addProjectTag(ctx context.Context, r *rest.Request) (any, error) {
	p, err := s.tagProject(ctx, r, "identity:create_project_tag")
	if err != nil {
		return nil, err
	}
	tag := r.Param("value")
	if tag == "" || len(tag) > 255 || strings.ContainsAny(tag, ",/") {
		return nil, fault.BadRequest("Invalid input for field 'tag': %q does not match '^[^,/]*$'", tag).WithType("ValidationError")
	}
	for _, t := range p.Tags {
		if t == tag {
			return &rest.Response{Status: http.StatusCreated, Header: http.Header{"Location": {s.selfURL(r)}}}, nil
		}
	}
	if len(p.Tags) >= 80 {
		return nil, fault.BadRequest("The number of tags is over the limit of 80.").WithType("ValidationError")
	}
	p.Tags = append(p.Tags, tag)
	if err := s.st.SetProjectTags(ctx, p.ID, p.Tags); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return &rest.Response{Status: http.StatusCreated, Header: http.Header{"Location": {s.selfURL(r)}}}, nil
}

func (s *Service) deleteProjectTag(ctx context.Context, r *rest.Request) (any, error) {
	p, err := s.tagProject(ctx, r, "identity:delete_project_tag")
	if err != nil {
		return nil, err
	}
	tag := r.Param("value")
	var keep []string
	found := false
	for _, t := range p.Tags {
		if t == tag {
			found = true
			continue
		}
		keep = append(keep, t)
	}
	if !found {
		return nil, fault.NotFound("Tag %s not found for project %s", tag, p.ID).WithType("ProjectTagNotFound")
	}
	if err := s.st.SetProjectTags(ctx, p.ID, keep); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return nil, nil
}
