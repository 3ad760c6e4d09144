package identity

import "github.com/tenku-cloud/tenku/internal/platform/rest"

// routes are every route of the API, by resource.
func (s *Service) routes() [][]rest.Route {
	return [][]rest.Route{
		s.authRoutes(),
		s.projectRoutes(),
		s.userRoutes(),
		s.roleRoutes(),
		s.catalogRoutes(),
		s.credentialRoutes(),
		s.trustRoutes(),
		s.domainConfigRoutes(),
		s.limitRoutes(),
	}
}
