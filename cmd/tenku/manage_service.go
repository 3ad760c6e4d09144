package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenku-cloud/tenku/internal/compute"
	cstore "github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/config"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

// serviceCmd is "tenku manage service": Nova's service records (compute
// agents, conductors, schedulers) read and changed in Nova's database, as
// an operator does before taking a host out (nova-manage's old service
// commands; the API's os-services does the same over REST).
func serviceCmd() *cobra.Command {
	var (
		d         dbFlags
		configDir string
	)
	cmd := &cobra.Command{
		Use:   "service",
		Short: "List, disable and enable Nova's services (compute agents, conductors, schedulers) in its database",
	}
	open := func(ctx context.Context) (*store.DB, *cstore.Store, error) {
		db, err := store.Open(ctx, d.url("nova"))
		if err != nil {
			return nil, nil, err
		}
		return db, cstore.New(db), nil
	}
	find := func(ctx context.Context, st *cstore.Store, host, binary string) (int64, error) {
		svcs, err := st.Services(ctx, host, binary)
		if err != nil {
			return 0, err
		}
		if len(svcs) == 0 {
			return 0, fmt.Errorf("no service %s on host %s (see tenku manage service list)", binary, host)
		}
		return svcs[0].ID, nil
	}
	var host, binary string
	list := &cobra.Command{
		Use:   "list [--host HOST] [--binary BINARY]",
		Short: "List services with their status (enabled/disabled) and state (up/down by service_down_time)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := context.Background()
			down, err := serviceDownTime(configDir, d.dataDir)
			if err != nil {
				return err
			}
			db, st, err := open(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			svcs, err := st.Services(ctx, host, binary)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tBinary\tHost\tStatus\tState\tUpdated At\tDisabled Reason")
			now := time.Now()
			for _, s := range svcs {
				status, state := "enabled", "down"
				if s.Disabled {
					status = "disabled"
				}
				if s.Up(now, down) {
					state = "up"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.UUID, s.Binary, s.Host, status, state,
					s.LastSeenUp.UTC().Format(time.RFC3339), s.DisabledReason)
			}
			return w.Flush()
		},
	}
	list.Flags().StringVar(&host, "host", "", "only this host's services")
	list.Flags().StringVar(&binary, "binary", "", "only this binary (nova-compute, nova-conductor, nova-scheduler)")
	var reason string
	set := func(disable bool) func(cmd *cobra.Command, args []string) error {
		return func(cmd *cobra.Command, args []string) error {
			ctx := context.Background()
			db, st, err := open(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			id, err := find(ctx, st, args[0], args[1])
			if err != nil {
				return err
			}
			u := cstore.ServiceUpdate{Disabled: &disable}
			r := ""
			if disable {
				r = reason
			}
			u.DisabledReason = &r
			sv, err := st.UpdateService(ctx, id, u)
			if err != nil {
				return err
			}
			status := "enabled"
			if sv.Disabled {
				status = "disabled"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s on %s is %s\n", sv.Binary, sv.Host, status)
			return nil
		}
	}
	disable := &cobra.Command{
		Use:   "disable HOST BINARY [--reason TEXT]",
		Short: "Disable a service: the scheduler places nothing new on a disabled nova-compute (within its refresh interval)",
		Args:  cobra.ExactArgs(2),
		RunE:  set(true),
	}
	disable.Flags().StringVar(&reason, "reason", "", "why (shown as disabled_reason)")
	enable := &cobra.Command{
		Use:   "enable HOST BINARY",
		Short: "Enable a disabled service",
		Args:  cobra.ExactArgs(2),
		RunE:  set(false),
	}
	for _, c := range []*cobra.Command{list, disable, enable} {
		d.register(c)
		c.Flags().StringVar(&configDir, "config-dir", os.Getenv("TENKU_CONFIG_DIR"), "directory holding nova.conf (service_down_time); default DATA_DIR/etc")
		cmd.AddCommand(c)
	}
	return cmd
}

// serviceDownTime is nova.conf's [DEFAULT] service_down_time, or its default.
func serviceDownTime(configDir, dataDir string) (time.Duration, error) {
	cfg := compute.DefaultConfig()
	if configDir == "" {
		configDir = filepath.Join(mustAbs(dataDir), "etc")
	}
	path := filepath.Join(configDir, "nova.conf")
	f, err := config.ParseFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return cfg.Default.ServiceDownTime, nil
	}
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := config.Apply(&cfg, f); err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return cfg.Default.ServiceDownTime, nil
}
