package stack

import (
	"context"
	"fmt"

	"github.com/tenku-cloud/tenku/internal/identity"
	"github.com/tenku-cloud/tenku/internal/image"
	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/service"
)

// Components lists every service tenku can run, in start order: Keystone first,
// since every other service validates tokens against it.
func Components() []Component {
	return []Component{
		{
			Name: "keystone", Type: "identity", Title: "Keystone", Port: 5000, Path: "/v3",
			ConfFile: "keystone.conf", Devstack: []string{"key", "keystone"},
			Config:     func() any { c := identity.DefaultConfig(); return &c },
			Migrations: identity.Migrations,
			Build:      buildIdentity,
		},
		{
			Name: "glance", Type: "image", Title: "Glance", Port: 9292,
			ConfFile: "glance-api.conf", Devstack: []string{"g-api", "glance"},
			Config:     func() any { c := image.DefaultConfig(); return &c },
			Migrations: image.Migrations,
			Build: func(ctx context.Context, s *Stack, cfg any, d service.Deps) (service.Service, error) {
				return image.New(*cfg.(*image.Config), d)
			},
			After: func(ctx context.Context, s *Stack, svc service.Service) error {
				if !s.TestData || s.ImageDir == "" {
					return nil
				}
				_, admin, err := s.Login(ctx, "admin", "admin")
				if err != nil {
					return err
				}
				reg, err := svc.(*image.Service).LoadImages(ctx, s.ImageDir, admin.ProjectID)
				if err != nil {
					s.Log.Warn("some images were not loaded", "dir", s.ImageDir, "err", err)
				}
				for _, r := range reg {
					s.Log.Info("test image", "image", fmt.Sprintf("%+v", r))
				}
				return nil
			},
		},
	}
}

// buildIdentity bootstraps Keystone (devstack's test data and the catalog of
// every enabled service) and builds it.
func buildIdentity(ctx context.Context, s *Stack, cfg any, d service.Deps) (service.Service, error) {
	c := cfg.(*identity.Config)
	if s.TestData {
		var users []string
		var catalog []identity.CatalogService
		for _, comp := range s.components {
			url, ok := s.URLs[comp.Name]
			if !ok {
				continue
			}
			if comp.Name != "keystone" {
				users = append(users, comp.Name)
			}
			catalog = append(catalog, identity.CatalogService{
				Name: comp.Name, Type: comp.Type, Description: comp.Title + " (" + comp.Type + ")",
				PublicURL: url, InternalURL: url, AdminURL: url,
			})
		}
		err := identity.Bootstrap(ctx, d.DB, identity.BootstrapOptions{
			AdminPassword: s.Secrets.AdminPassword, ServicePassword: s.Secrets.ServicePassword,
			ServiceUsers: users, Region: s.Region, Services: catalog, Config: c,
		})
		if err != nil {
			return nil, err
		}
	}
	return identity.New(*c, d)
}

// Login logs in to the stack's Keystone as user in project (admin and demo share
// the admin password).
func (s *Stack) Login(ctx context.Context, user, project string) (string, *authn.Context, error) {
	return authn.Login(ctx, authn.ServiceCredentials{
		AuthURL: s.URLs["keystone"], Username: user, Password: s.Secrets.AdminPassword,
		UserDomainName: "Default", ProjectName: project, ProjectDomainName: "Default",
	}, nil)
}
