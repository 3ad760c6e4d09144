// Command tenku is an OpenStack cloud in one binary.
//
//	tenku stack                  the all-in-one cloud (devstack's job)
//	tenku serve --services ...   any subset of services, for split deployments
//	tenku agent compute|network  the per-host agents
//	tenku manage ...             db sync, bootstrap, fernet rotate, config sample
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	root := &cobra.Command{
		Use:           "tenku",
		Short:         "tenku (天空) is an OpenStack cloud in one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(stackCmd(), serveCmd(), agentCmd(), manageCmd(), versionCmd())
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "tenku:", err)
		os.Exit(1)
	}
}

// version is set at link time (-ldflags "-X main.version=...").
var version = "dev"

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Run:   func(cmd *cobra.Command, args []string) { fmt.Println("tenku", version) },
	}
}
