package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"text/tabwriter"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/spf13/cobra"

	"github.com/tenku-cloud/tenku/internal/platform/authn"
)

// osFlags are an operator's credentials, from the OS_* variables an openrc
// exports (or flags), as the openstack client takes them.
type osFlags struct {
	authURL, username, password, project, userDomain, projectDomain, region string
}

func (o *osFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.authURL, "os-auth-url", os.Getenv("OS_AUTH_URL"), "Keystone's URL ($OS_AUTH_URL)")
	f.StringVar(&o.username, "os-username", envOr("OS_USERNAME", "admin"), "an admin user ($OS_USERNAME)")
	f.StringVar(&o.password, "os-password", os.Getenv("OS_PASSWORD"), "its password ($OS_PASSWORD)")
	f.StringVar(&o.project, "os-project-name", envOr("OS_PROJECT_NAME", "admin"), "its project ($OS_PROJECT_NAME)")
	f.StringVar(&o.userDomain, "os-user-domain-name", envOr("OS_USER_DOMAIN_NAME", "Default"), "the user's domain ($OS_USER_DOMAIN_NAME)")
	f.StringVar(&o.projectDomain, "os-project-domain-name", envOr("OS_PROJECT_DOMAIN_NAME", "Default"), "the project's domain ($OS_PROJECT_DOMAIN_NAME)")
	f.StringVar(&o.region, "os-region-name", os.Getenv("OS_REGION_NAME"), "the region ($OS_REGION_NAME)")
}

// compute logs in and returns a Nova client at the given microversion.
func (o *osFlags) compute(ctx context.Context, microversion string) (*gophercloud.ServiceClient, error) {
	if o.authURL == "" || o.password == "" {
		return nil, errors.New("no credentials: source an admin openrc or give --os-auth-url and --os-password")
	}
	pc, err := openstack.NewClient(o.authURL)
	if err != nil {
		return nil, err
	}
	pc.HTTPClient = http.Client{Timeout: 60 * time.Second}
	if err := authn.Authenticate(ctx, pc, authn.ServiceCredentials{AuthURL: o.authURL, Username: o.username, Password: o.password,
		UserDomainName: o.userDomain, ProjectName: o.project, ProjectDomainName: o.projectDomain}); err != nil {
		return nil, fmt.Errorf("log in to %s: %w", o.authURL, err)
	}
	c, err := openstack.NewComputeV2(pc, gophercloud.EndpointOpts{Region: o.region, Availability: gophercloud.AvailabilityPublic})
	if err != nil {
		return nil, err
	}
	c.Microversion = microversion
	return c, nil
}

// hostCmd is "tenku manage host": what an operator does to a whole compute
// host through Nova's API (novaclient's host-evacuate).
func hostCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "host", Short: "Act on every server of a compute host (evacuate)"}
	var (
		o      osFlags
		target string
		wait   time.Duration
	)
	evac := &cobra.Command{
		Use:   "evacuate HOST",
		Short: "Evacuate every server of a host whose compute service is down: each is rebuilt on another host (the API's evacuate action)",
		Long: "Lists the servers on HOST (all projects) and asks Nova to evacuate each, as novaclient's host-evacuate does. " +
			"Nova refuses (409) while the host's compute service is still up: stop it, or wait service_down_time. " +
			"With --wait, waits for each accepted evacuation to finish and prints where the server went.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := context.Background()
			c, err := o.compute(ctx, "2.29")
			if err != nil {
				return err
			}
			return evacuateHost(ctx, cmd.OutOrStdout(), c, args[0], target, wait)
		},
	}
	o.register(evac)
	evac.Flags().StringVar(&target, "target-host", "", "the host to rebuild on (default: the scheduler chooses)")
	evac.Flags().DurationVar(&wait, "wait", 0, "wait up to this long for the evacuations to finish (0: do not wait)")
	cmd.AddCommand(evac)
	return cmd
}

type evacuation struct {
	id, name, errMsg string
	accepted         bool
}

// evacuateHost evacuates every server of host, prints a table and fails
// when any was not accepted (or, waiting, did not finish ACTIVE/SHUTOFF).
func evacuateHost(ctx context.Context, out io.Writer, c *gophercloud.ServiceClient, host, target string, wait time.Duration) error {
	pages, err := servers.List(c, servers.ListOpts{AllTenants: true, Host: host}).AllPages(ctx)
	if err != nil {
		return fmt.Errorf("list the servers of %s: %w", host, err)
	}
	list, err := servers.ExtractServers(pages)
	if err != nil {
		return err
	}
	var done []evacuation
	failed := 0
	for _, s := range list {
		if s.Host != host { // the filter is a regular expression in Nova
			continue
		}
		e := evacuation{id: s.ID, name: s.Name}
		body := map[string]any{}
		if target != "" {
			body["host"] = target
		}
		_, err := c.Post(ctx, c.ServiceURL("servers", s.ID, "action"), map[string]any{"evacuate": body}, nil,
			&gophercloud.RequestOpts{OkCodes: []int{200}})
		if err != nil {
			e.errMsg = apiMessage(err)
			failed++
		} else {
			e.accepted = true
		}
		done = append(done, e)
	}
	w := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "Server UUID\tName\tEvacuate Accepted\tError Message")
	for _, e := range done {
		fmt.Fprintf(w, "%s\t%s\t%t\t%s\n", e.id, e.name, e.accepted, e.errMsg)
	}
	w.Flush()
	if wait > 0 {
		failed += waitEvacuated(ctx, out, c, done, wait)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d servers on %s were not evacuated", failed, len(done), host)
	}
	return nil
}

// waitEvacuated waits for the accepted evacuations to leave their task
// state and prints where each server ended; it returns how many did not
// end ACTIVE or SHUTOFF.
func waitEvacuated(ctx context.Context, out io.Writer, c *gophercloud.ServiceClient, done []evacuation, wait time.Duration) int {
	deadline := time.Now().Add(wait)
	bad := 0
	w := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "Server UUID\tStatus\tHost")
	for _, e := range done {
		if !e.accepted {
			continue
		}
		var s *servers.Server
		for {
			var err error
			s, err = servers.Get(ctx, c, e.id).Extract()
			if err == nil && s.TaskState == "" && s.Status != "REBUILD" {
				break
			}
			if time.Now().After(deadline) {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		status, where := "unknown", ""
		if s != nil {
			status, where = s.Status, s.Host
			if s.TaskState != "" {
				status += "/" + s.TaskState
			}
		}
		if status != "ACTIVE" && status != "SHUTOFF" {
			bad++
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", e.id, status, where)
	}
	w.Flush()
	return bad
}

// apiMessage is the message of an OpenStack error body, or the error.
func apiMessage(err error) string {
	var ue gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &ue) {
		return fmt.Sprintf("%d %s", ue.Actual, string(ue.Body))
	}
	return err.Error()
}
