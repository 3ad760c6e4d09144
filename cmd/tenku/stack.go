package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenku-cloud/tenku/internal/stack"
	"github.com/tenku-cloud/tenku/internal/testimage"
)

func stackCmd() *cobra.Command {
	var (
		c         common
		localConf string
		adminPass string
		svcPass   string
		enable    string
		disable   string
		imageDir  string
		exitOnUp  bool
		dashPort  int
		// computeDriver applies when nova.conf names none.
		computeDriver string
		// dataplaneDriver applies when neutron_agent.ini names none.
		dataplaneDriver string
		// hostNamespace puts this host's guests and data plane in a
		// network namespace (tools/tempest).
		hostNamespace string
	)
	cmd := &cobra.Command{
		Use:   "stack",
		Short: "Bring the whole cloud up in this process, with devstack's test data",
		Long: `stack runs every enabled service in one process on SQLite and an embedded NATS
server, creates devstack's test data (users admin and demo, their projects, roles,
the catalog, flavors, images, networks), writes openrc and clouds.yaml into the
data directory and prints where everything is. Running it again resumes the same
cloud. A devstack local.conf or localrc (ADMIN_PASSWORD, SERVICE_PASSWORD,
enable_service, disable_service) is read from --local-conf, ./local.conf,
./localrc or DATA_DIR/local.conf.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			t0 := time.Now()
			c.dataDir = mustAbs(c.dataDir)
			if err := os.MkdirAll(c.dataDir, 0o700); err != nil {
				return err
			}
			lc, lcPath, err := findLocalConf(localConf, c.dataDir)
			if err != nil {
				return err
			}
			log, closer, err := c.logger()
			if err != nil {
				return err
			}
			defer closer.Close()
			for _, p := range lc.Problems {
				log.Warn("local.conf: "+p, "file", lcPath)
			}
			secrets, err := stack.ResolveSecrets(c.dataDir, stack.Secrets{
				AdminPassword:   firstOf(adminPass, os.Getenv("TENKU_ADMIN_PASSWORD"), os.Getenv("ADMIN_PASSWORD")),
				ServicePassword: firstOf(svcPass, os.Getenv("TENKU_SERVICE_PASSWORD"), os.Getenv("SERVICE_PASSWORD")),
				MetadataSecret:  os.Getenv("METADATA_PROXY_SHARED_SECRET"),
			}, lc)
			if err != nil {
				return err
			}
			all := stack.Components()
			services, warnings := stack.Resolve(all, append(lc.Enable, splitList(enable)...), append(lc.Disable, splitList(disable)...))
			for _, w := range warnings {
				log.Warn(w)
			}
			if imageDir == "" {
				imageDir = filepath.Join(c.dataDir, "images-to-load")
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			s, err := stack.Start(ctx, all, stack.Options{
				DataDir: c.dataDir, HostIP: c.hostIP, Secrets: secrets, Services: services,
				ConfigDir: c.configDir, DatabaseURL: c.databaseURL, BusURL: c.busURL, BusPrefix: c.busPrefix,
				ImageDir: imageDir, Region: c.region, Log: log, TestData: true,
				Ports:                 map[string]int{"horizon": dashPort},
				VolumeBackingFileSize: lc.Vars["VOLUME_BACKING_FILE_SIZE"],
				ComputeDriver:         computeDriver,
				MetricsListen:         c.metrics,
				DataplaneDriver:       dataplaneDriver,
				HostNamespace:         hostNamespace,
			})
			if err != nil {
				return err
			}
			if err := s.WriteCredentials(); err != nil {
				s.Stop(context.Background())
				return err
			}
			s.Ready = time.Since(t0)
			s.Banner(os.Stdout, all)
			log.Info("stack ready", "seconds", s.Ready.Seconds(), "services", services)
			if strings.HasPrefix(s.ComputeDriverNote, "qemu") && s.Service("glance") != nil {
				go registerTestImage(ctx, s, log)
			}
			if !exitOnUp {
				<-ctx.Done()
				fmt.Fprintln(os.Stderr, "tenku: shutting down")
			}
			return s.Stop(context.Background())
		},
	}
	c.register(cmd)
	f := cmd.Flags()
	f.StringVar(&localConf, "local-conf", "", "a devstack local.conf or localrc to read")
	f.StringVar(&adminPass, "admin-password", "", "password of admin and demo (env ADMIN_PASSWORD; default: from local.conf, the last run, or random)")
	f.StringVar(&svcPass, "service-password", "", "password of the service users (env SERVICE_PASSWORD; default as --admin-password)")
	f.StringVar(&enable, "enable", "", "services to enable (tenku or devstack names, comma-separated)")
	f.StringVar(&disable, "disable", "", "services to disable (tenku or devstack names, comma-separated)")
	f.StringVar(&imageDir, "image-dir", os.Getenv("TENKU_IMAGE_DIR"), "image files to register as public images (default DATA_DIR/images-to-load)")
	f.IntVar(&dashPort, "dashboard-port", 8080, "port of the dashboard (Horizon); -1 serves none")
	f.BoolVar(&exitOnUp, "exit-when-ready", false, "stop as soon as the cloud is up (for checks and set-up scripts)")
	f.StringVar(&computeDriver, "compute-driver", "auto", "hypervisor driver when nova.conf names none: auto (qemu where installed, else fake), qemu or fake")
	f.StringVar(&hostNamespace, "host-namespace", "", "network namespace standing in for this host: QEMU, its taps and the data plane's bridges live there, and the data plane's namespaces are named after it (test harnesses)")
	f.MarkHidden("host-namespace")
	f.StringVar(&dataplaneDriver, "dataplane-driver", "auto", "network data plane when neutron_agent.ini names none: auto (linuxbridge with real guests where root, iproute2, nftables and dnsmasq are there, else fake), linuxbridge or fake")
	return cmd
}

func findLocalConf(explicit, dataDir string) (*stack.LocalConf, string, error) {
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return nil, "", fmt.Errorf("--local-conf: %w", err)
		}
		lc, err := stack.ReadLocalConf(explicit)
		return lc, explicit, err
	}
	for _, p := range []string{"local.conf", "localrc", filepath.Join(dataDir, "local.conf")} {
		if _, err := os.Stat(p); err == nil {
			lc, err := stack.ReadLocalConf(p)
			return lc, p, err
		}
	}
	return &stack.LocalConf{Vars: map[string]string{}}, "", nil
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// registerTestImage builds the test image (once per user, cached) and
// registers it, as devstack downloads and registers cirros, after the cloud
// is up so that the start is not held up by it.
func registerTestImage(ctx context.Context, s *stack.Stack, log *slog.Logger) {
	log.Info("building the test image in the background (Debian packages, cached after the first time)", "image", stack.TestImageName)
	img, err := testimage.BuildShared(ctx, nil)
	if err != nil {
		log.Warn("no test image: servers need an image of your own", "err", err)
		return
	}
	id, err := s.RegisterTestImage(ctx, img)
	if err != nil {
		log.Warn("test image not registered", "err", err)
		return
	}
	log.Info("test image registered; boot it with: openstack server create --image "+stack.TestImageName+" --flavor m1.nano --network private vm1", "image_id", id)
}
