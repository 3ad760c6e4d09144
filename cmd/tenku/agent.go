package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/tenku-cloud/tenku/internal/stack"
)

func agentCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run a per-host agent (nova-compute, the Neutron agent) that joins a cloud over its bus",
	}
	for _, a := range []struct{ use, component, short string }{
		{"compute", "nova-compute", "Run this host's compute agent (nova-compute)"},
		{"network", "neutron-agent", "Run this host's network agent (Neutron's L2, DHCP, L3 and metadata agents)"},
	} {
		var (
			c       common
			host    string
			svcPass string
			authURL string
		)
		sub := &cobra.Command{
			Use:   a.use + " --host NAME --bus-url nats://... --auth-url http://keystone:5000/v3",
			Short: a.short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				c.dataDir = mustAbs(c.dataDir)
				if err := os.MkdirAll(c.dataDir, 0o700); err != nil {
					return err
				}
				pass := firstOf(svcPass, os.Getenv("TENKU_SERVICE_PASSWORD"), os.Getenv("SERVICE_PASSWORD"))
				if pass == "" || authURL == "" || c.busURL == "" {
					return fmt.Errorf("--service-password, --auth-url and --bus-url are required: an agent joins a cloud that runs elsewhere")
				}
				log, closer, err := c.logger()
				if err != nil {
					return err
				}
				defer closer.Close()
				ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				s, err := stack.Start(ctx, stack.Components(), stack.Options{
					DataDir: c.dataDir, HostIP: c.hostIP, Secrets: stack.Secrets{ServicePassword: pass},
					Services: []string{a.component}, ConfigDir: c.configDir, BusURL: c.busURL, BusPrefix: c.busPrefix,
					Region: c.region, Log: log, AuthURL: authURL, Host: host, MetricsListen: c.metrics,
				})
				if err != nil {
					return err
				}
				fmt.Printf("%s agent of host %s joined %s\n", a.use, firstOf(host, "(hostname)"), c.busURL)
				<-ctx.Done()
				return s.Stop(context.Background())
			},
		}
		c.register(sub)
		f := sub.Flags()
		f.StringVar(&host, "host", "", "this host's name (default: the hostname)")
		f.StringVar(&svcPass, "service-password", "", "password of the service users (env SERVICE_PASSWORD)")
		f.StringVar(&authURL, "auth-url", os.Getenv("OS_AUTH_URL"), "Keystone's public URL")
		cmd.AddCommand(sub)
	}
	return cmd
}
