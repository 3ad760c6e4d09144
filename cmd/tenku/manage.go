package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/tenku-cloud/tenku/internal/platform/config"
	"github.com/tenku-cloud/tenku/internal/platform/store"
	"github.com/tenku-cloud/tenku/internal/stack"
)

func manageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "manage",
		Short: "Operator tasks: database schema, bootstrap, Fernet keys, sample configuration",
	}
	cmd.AddCommand(dbCmd(), configCmd())
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
				db, err := store.Open(ctx, d.url(c.Name))
				if err != nil {
					return err
				}
				v, err := db.Migrate(ctx, c.Migrations)
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
			for _, c := range all {
				if len(args) > 0 && !want[c.Name] && !want[c.ConfFile] {
					continue
				}
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
func manageIdentityCmds() []*cobra.Command { return nil }
