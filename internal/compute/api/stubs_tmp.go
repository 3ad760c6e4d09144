package api

import "github.com/tenku-cloud/tenku/internal/platform/rest"

func (a *API) actionRoutes() []rest.Route     { return nil }
func (a *API) serverMetaRoutes() []rest.Route { return nil }
func (a *API) adminRoutes() []rest.Route      { return nil }
func (a *API) groupRoutes() []rest.Route      { return nil }
func (a *API) miscRoutes() []rest.Route       { return nil }
