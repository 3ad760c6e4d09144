package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tenku-cloud/tenku/internal/compute"
	"github.com/tenku-cloud/tenku/internal/identity"
	"github.com/tenku-cloud/tenku/internal/platform/config"
	"github.com/tenku-cloud/tenku/internal/platform/lease"
	"github.com/tenku-cloud/tenku/internal/platform/store"
	"github.com/tenku-cloud/tenku/internal/stack"
	"github.com/tenku-cloud/tenku/internal/testimage"
)

func manageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "manage",
		Short: "Operator tasks: database schema, bootstrap, Fernet keys, sample configuration",
	}
	cmd.AddCommand(dbCmd(), configCmd(), buildTestImageCmd(), serviceCmd(), hostCmd())
	cmd.AddCommand(manageIdentityCmds()...)
	return cmd
}

// dbFlags locate the databases as the server commands do.
type dbFlags struct {
	dataDir     string
	databaseURL string
	services    string
}

func (d *dbFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&d.dataDir, "data-dir", envOr("TENKU_DATA_DIR", defaultDataDir()), "data directory (for the default SQLite databases)")
	f.StringVar(&d.databaseURL, "database-url", os.Getenv("TENKU_DATABASE_URL"), "database URL template, {service} replaced by the service name")
	f.StringVar(&d.services, "services", "", "services to act on (default: all)")
}

// url returns the database URL of a component, as stack.Stack.DatabaseURL does.
func (d *dbFlags) url(name string) string {
	s := &stack.Stack{Options: stack.Options{DataDir: mustAbs(d.dataDir), DatabaseURL: d.databaseURL}}
	return s.DatabaseURL(name)
}

func (d *dbFlags) components() ([]stack.Component, error) {
	all := stack.Components()
	if d.services == "" {
		return all, nil
	}
	names, warnings := stack.Resolve(all, splitList(d.services), []string{"all"})
	if len(warnings) > 0 {
		return nil, fmt.Errorf("%s", warnings[0])
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var out []stack.Component
	for _, c := range all {
		if want[c.Name] {
			out = append(out, c)
		}
	}
	return out, nil
}

func dbCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "db", Short: "Database schema"}
	var d dbFlags
	sync := &cobra.Command{
		Use:   "sync",
		Short: "Create or upgrade every service's schema (keystone-manage db_sync, nova-manage db sync, ...)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			comps, err := d.components()
			if err != nil {
				return err
			}
			ctx := context.Background()
			for _, c := range comps {
				if c.Migrations.FS == nil {
					continue
				}
				if err := store.EnsureDatabase(ctx, d.url(c.Name)); err != nil {
					return err
				}
				db, err := store.Open(ctx, d.url(c.Name))
				if err != nil {
					return err
				}
				v, err := db.Migrate(ctx, c.Migrations)
				if err == nil {
					_, err = db.Migrate(ctx, lease.Migrations)
				}
				db.Close()
				if err != nil {
					return err
				}
				fmt.Printf("%s: schema version %d (%s)\n", c.Name, v, db.URL)
			}
			return nil
		},
	}
	d.register(sync)
	version := &cobra.Command{
		Use:   "version",
		Short: "Print each service's schema version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			comps, err := d.components()
			if err != nil {
				return err
			}
			ctx := context.Background()
			for _, c := range comps {
				if c.Migrations.FS == nil {
					continue
				}
				db, err := store.Open(ctx, d.url(c.Name))
				if err != nil {
					return err
				}
				v, err := db.Version(ctx, c.Migrations.Service)
				db.Close()
				if err != nil {
					return err
				}
				fmt.Printf("%s: %d\n", c.Name, v)
			}
			return nil
		},
	}
	version.Flags().AddFlagSet(sync.Flags())
	cmd.AddCommand(sync, version)
	return cmd
}

func configCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Configuration files"}
	var outDir string
	sample := &cobra.Command{
		Use:   "sample [service...]",
		Short: "Print every option of each service's config file with its help and default (oslo-config-generator)",
		RunE: func(cmd *cobra.Command, args []string) error {
			all := stack.Components()
			want := map[string]bool{}
			for _, a := range args {
				want[a] = true
			}
			found := 0
			printed := map[string]bool{}
			for _, c := range all {
				if len(args) > 0 && !want[c.Name] && !want[c.ConfFile] || c.ConfFile == "" || printed[c.ConfFile] {
					continue
				}
				printed[c.ConfFile] = true
				found++
				w := os.Stdout
				if outDir != "" {
					f, err := os.Create(filepath.Join(outDir, c.ConfFile+".sample"))
					if err != nil {
						return err
					}
					defer f.Close()
					w = f
				} else {
					fmt.Fprintf(w, "# ===== %s (%s) =====\n", c.ConfFile, c.Name)
				}
				if err := config.Sample(w, c.Config()); err != nil {
					return err
				}
				if c.DriverConfigs != nil {
					for _, dc := range c.DriverConfigs() {
						fmt.Fprintln(w)
						if err := config.Sample(w, dc); err != nil {
							return err
						}
					}
				}
				fmt.Fprintln(w)
			}
			if found == 0 {
				return fmt.Errorf("no such service (have: %s)", stack.Names(all))
			}
			return nil
		},
	}
	sample.Flags().StringVar(&outDir, "output-dir", "", "write one SERVICE.conf.sample file per service here instead of printing")
	cmd.AddCommand(sample)
	return cmd
}

// manageIdentityCmds are Keystone's manage commands (bootstrap, fernet).
func manageIdentityCmds() []*cobra.Command {
	var (
		d         dbFlags
		adminPass string
		svcPass   string
		hostIP    string
		region    string
	)
	bootstrap := &cobra.Command{
		Use:   "bootstrap",
		Short: "Create the default domain, projects, roles, admin/demo and service users, and the catalog (keystone-manage bootstrap)",
		Long: `bootstrap is keystone-manage bootstrap plus devstack's test users, for split
deployments: it creates what is missing in Keystone's database, keeps what
exists, and publishes every service named by --services (default: all) at its
default port on --host-ip. Running it again is harmless.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			adminPass = firstOf(adminPass, os.Getenv("ADMIN_PASSWORD"))
			svcPass = firstOf(svcPass, os.Getenv("SERVICE_PASSWORD"))
			if adminPass == "" || svcPass == "" {
				return fmt.Errorf("--admin-password and --service-password (or ADMIN_PASSWORD, SERVICE_PASSWORD) are required")
			}
			comps, err := d.components()
			if err != nil {
				return err
			}
			ctx := context.Background()
			db, err := store.Open(ctx, d.url("keystone"))
			if err != nil {
				return err
			}
			defer db.Close()
			var users []string
			var catalog []identity.CatalogService
			for _, c := range comps {
				if c.Port < 0 || c.Internal {
					continue
				}
				if c.Name != "keystone" {
					users = append(users, c.Name)
				}
				url := fmt.Sprintf("http://%s%s", net.JoinHostPort(hostIP, strconv.Itoa(c.Port)), c.Path)
				catalog = append(catalog, identity.CatalogService{Name: c.Name, Type: c.Type, Description: c.Title,
					PublicURL: url, InternalURL: url, AdminURL: url})
			}
			cfg := identity.DefaultConfig()
			err = identity.Bootstrap(ctx, db, identity.BootstrapOptions{AdminPassword: adminPass, ServicePassword: svcPass,
				ServiceUsers: users, Region: region, Services: catalog, Config: &cfg})
			if err != nil {
				return err
			}
			fmt.Printf("bootstrapped %s: users admin, demo and %s; %d catalog entries in %s\n", db.URL, strings.Join(users, ", "), len(catalog), region)
			for _, c := range comps {
				if c.Name != "nova" {
					continue
				}
				ndb, err := store.Open(ctx, d.url("nova"))
				if err != nil {
					return err
				}
				defer ndb.Close()
				if err := compute.EnsureDefaultFlavors(ctx, ndb); err != nil {
					return err
				}
				fmt.Printf("devstack's flavors exist in %s\n", ndb.URL)
			}
			return nil
		},
	}
	d.register(bootstrap)
	f := bootstrap.Flags()
	f.StringVar(&adminPass, "admin-password", "", "password of admin and demo")
	f.StringVar(&svcPass, "service-password", "", "password of the service users")
	f.StringVar(&hostIP, "host-ip", envOr("TENKU_HOST_IP", "127.0.0.1"), "address published in the catalog")
	f.StringVar(&region, "region", "RegionOne", "catalog region")

	var fd dbFlags
	var maxKeys int
	fernetCmd := &cobra.Command{Use: "fernet", Short: "Fernet token keys (kept in Keystone's database, shared by every node)"}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Promote the staged key, stage a new one, and prune beyond --max-active-keys (keystone-manage fernet_rotate)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := context.Background()
			db, err := store.Open(ctx, fd.url("keystone"))
			if err != nil {
				return err
			}
			defer db.Close()
			idx, err := identity.RotateFernetKeys(ctx, db, maxKeys)
			if err != nil {
				return err
			}
			primary := 0
			for _, i := range idx {
				primary = max(primary, i)
			}
			fmt.Printf("fernet keys now %v (0 is staged, %d is primary); running Keystones pick them up within a second\n", idx, primary)
			return nil
		},
	}
	fd.register(rotate)
	rotate.Flags().IntVar(&maxKeys, "max-active-keys", identity.DefaultConfig().FernetTokens.MaxActiveKeys, "keys kept, staged and primary included")
	fernetCmd.AddCommand(rotate)
	return []*cobra.Command{bootstrap, fernetCmd}
}

func buildTestImageCmd() *cobra.Command {
	var dataDir, dir, cache string
	var force bool
	cmd := &cobra.Command{
		Use:   "build-test-image",
		Short: "Build the cirros-like test image from Debian packages (disk.qcow2, vmlinuz, initrd.img) into <data-dir>/images/testimage",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				dir = filepath.Join(mustAbs(dataDir), "images", "testimage")
			}
			img, err := testimage.Build(cmd.Context(), testimage.Options{Dir: dir, CacheDir: cache, Log: os.Stderr, Force: force})
			if err != nil {
				return err
			}
			state := "built"
			if img.Reused {
				state = "up to date"
			}
			fmt.Printf("%s: %s\nkernel: %s\nramdisk: %s\ncommand line: %s\n", state, img.Disk, img.Kernel, img.Initrd, testimage.CommandLine)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data-dir", envOr("TENKU_DATA_DIR", defaultDataDir()), "data directory")
	f.StringVar(&dir, "dir", "", "output directory (default <data-dir>/images/testimage)")
	f.StringVar(&cache, "cache-dir", "", "where downloaded .deb files are kept (default <dir>/debs)")
	f.BoolVar(&force, "force", false, "rebuild even when the directory holds an up-to-date build")
	return cmd
}
