// Command bench measures tenku against the targets its issues state and prints
// the figures. It drives a real `tenku stack` process over HTTP, on this machine,
// load generator included — the way the anchors were measured.
//
//	go run ./tools/bench identity     start to first token, idle RSS, token
//	                                  validation and password-token rates
//	go run ./tools/bench dashboard    every page's server time with 1,000
//	                                  servers, 200 networks and 500 images (fake
//	                                  driver), the instances page's first-load
//	                                  bytes, the RSS the dashboard adds
//	go run ./tools/bench ldap         LDAP password logins per second next to
//	                                  the bind rate of the same local slapd,
//	                                  token validation of an LDAP user next to
//	                                  a SQL user's
//	go run ./tools/bench guests       real guests on QEMU (TCG, root): create →
//	                                  banner next to the same QEMU command run
//	                                  bare, 4 guests at once, the stack's RSS
//	                                  with 4 guests
//
// Each suite prints one line per figure: name, value, unit, and the target.
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

type suite func(env *env) error

var suites = map[string]suite{
	"identity":  identitySuite,
	"dashboard": dashboardSuite,
	"ldap":      ldapSuite,
	"guests":    guestsSuite,
}

func main() {
	if len(os.Args) >= 2 && os.Args[1] == "sim" {
		// The simulated cloud runs in this process: no tenku binary.
		if err := simMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) < 2 || suites[os.Args[1]] == nil {
		names := make([]string, 0, len(suites))
		for n := range suites {
			names = append(names, n)
		}
		names = append(names, "sim")
		sort.Strings(names)
		fmt.Fprintf(os.Stderr, "usage: go run ./tools/bench SUITE [flags]\nsuites: %s\n", strings.Join(names, ", "))
		os.Exit(2)
	}
	e, err := newEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	defer e.close()
	if err := suites[os.Args[1]](e); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// report prints a figure.
func report(name string, value float64, unit, target string) {
	fmt.Printf("%-44s %12.2f %-8s (target %s)\n", name, value, unit, target)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
