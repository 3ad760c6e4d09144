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

func serveCmd() *cobra.Command {
	var (
		c        common
		services string
		svcPass  string
		authURL  string
	)
	cmd := &cobra.Command{
		Use:   "serve --services keystone,glance,...",
		Short: "Run a subset of the services, against an external database and bus",
		Long: `serve runs the named services in this process. Point several processes (on one
host or many) at the same --database-url and --bus-url to split a cloud. Keystone
must have been bootstrapped (tenku manage db sync && tenku manage bootstrap).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c.dataDir = mustAbs(c.dataDir)
			if err := os.MkdirAll(c.dataDir, 0o700); err != nil {
				return err
			}
			log, closer, err := c.logger()
			if err != nil {
				return err
			}
			defer closer.Close()
			all := stack.Components()
			names, warnings := stack.Resolve(all, splitList(services), []string{"all"})
			if len(warnings) > 0 {
				return fmt.Errorf("%s", warnings[0])
			}
			if len(names) == 0 {
				return fmt.Errorf("--services names no service (have: %s)", stack.Names(all))
			}
			pass := firstOf(svcPass, os.Getenv("TENKU_SERVICE_PASSWORD"), os.Getenv("SERVICE_PASSWORD"))
			if pass == "" {
				return fmt.Errorf("--service-password (or SERVICE_PASSWORD) is required")
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			s, err := stack.Start(ctx, all, stack.Options{
				DataDir: c.dataDir, HostIP: c.hostIP, Secrets: stack.Secrets{ServicePassword: pass,
					// Split deployments set [neutron] metadata_proxy_shared_secret in
					// nova.conf, or this variable, the same on every host.
					MetadataSecret: os.Getenv("METADATA_PROXY_SHARED_SECRET")},
				Services: names, ConfigDir: c.configDir, DatabaseURL: c.databaseURL, BusURL: c.busURL, BusPrefix: c.busPrefix,
				Region: c.region, Log: log, AuthURL: authURL, MetricsListen: c.metrics,
			})
			if err != nil {
				return err
			}
			for _, n := range names {
				if u, ok := s.URLs[n]; ok {
					fmt.Printf("%s is serving at %s/\n", n, u)
				}
			}
			<-ctx.Done()
			return s.Stop(context.Background())
		},
	}
	c.register(cmd)
	f := cmd.Flags()
	f.StringVar(&services, "services", "", "services to run, comma-separated (tenku or devstack names)")
	f.StringVar(&svcPass, "service-password", "", "password of the service users (env SERVICE_PASSWORD)")
	f.StringVar(&authURL, "auth-url", os.Getenv("OS_AUTH_URL"), "Keystone's public URL when Keystone runs elsewhere")
	return cmd
}
