package authn

import (
	"context"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
)

// Authenticate logs a gophercloud provider in to Keystone as the service
// user, scoped to the credentials' project, and keeps it logged in. With a
// Mint it presents a minted token (Keystone's token method, which returns
// the catalog without a password check) and re-authenticates by minting
// again; otherwise it logs in with the password. creds.AuthURL may name
// Keystone's root or its /v3.
func Authenticate(ctx context.Context, pc *gophercloud.ProviderClient, creds ServiceCredentials) error {
	authURL := strings.TrimSuffix(creds.AuthURL, "/")
	if !strings.HasSuffix(authURL, "/v3") {
		authURL += "/v3"
	}
	ud, pd := creds.UserDomainName, creds.ProjectDomainName
	if ud == "" {
		ud = "Default"
	}
	if pd == "" {
		pd = "Default"
	}
	scope := &gophercloud.AuthScope{ProjectName: creds.ProjectName, DomainName: pd}
	if creds.Mint == nil {
		return openstack.Authenticate(ctx, pc, gophercloud.AuthOptions{IdentityEndpoint: authURL,
			Username: creds.Username, Password: creds.Password, DomainName: ud, AllowReauth: true, Scope: scope})
	}
	tok, _, err := creds.Mint(ctx)
	if err != nil {
		return err
	}
	if err := openstack.Authenticate(ctx, pc, gophercloud.AuthOptions{IdentityEndpoint: authURL, TokenID: tok, Scope: scope}); err != nil {
		return err
	}
	// The catalog found above stays; a token that expired is replaced by a
	// fresh one, minted.
	pc.ReauthFunc = func(ctx context.Context) error {
		tok, _, err := creds.Mint(ctx)
		if err != nil {
			return err
		}
		pc.SetToken(tok)
		return nil
	}
	return nil
}
