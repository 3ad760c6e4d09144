package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tenku-cloud/tenku/internal/platform/logging"
)

// common are the flags every server command shares.
type common struct {
	dataDir     string
	hostIP      string
	configDir   string
	databaseURL string
	busURL      string
	busPrefix   string
	debug       bool
	jsonLogs    bool
	verbose     bool
	region      string
	metrics     string
}

func (c *common) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&c.dataDir, "data-dir", envOr("TENKU_DATA_DIR", defaultDataDir()), "where the cloud keeps its databases, files and credentials (env TENKU_DATA_DIR)")
	f.StringVar(&c.hostIP, "host-ip", envOr("TENKU_HOST_IP", "127.0.0.1"), "address services bind and publish in the catalog (env TENKU_HOST_IP)")
	f.StringVar(&c.configDir, "config-dir", os.Getenv("TENKU_CONFIG_DIR"), "directory of per-service config files (keystone.conf, nova.conf, ...); default DATA_DIR/etc")
	f.StringVar(&c.databaseURL, "database-url", os.Getenv("TENKU_DATABASE_URL"), "external database URL template, {service} replaced by each service's name (default: SQLite files in the data dir)")
	f.StringVar(&c.busURL, "bus-url", os.Getenv("TENKU_BUS_URL"), "external NATS URL (default: an embedded server with no listener)")
	f.StringVar(&c.busPrefix, "bus-prefix", os.Getenv("TENKU_BUS_PREFIX"), "prefix of every bus subject (\"cloud1.\"), for several clouds on one NATS")
	f.StringVar(&c.region, "region", envOr("TENKU_REGION", "RegionOne"), "catalog region")
	f.StringVar(&c.metrics, "metrics-listen", os.Getenv("TENKU_METRICS_LISTEN"), "address of this process's Prometheus /metrics listener, e.g. 127.0.0.1:9100 (env TENKU_METRICS_LISTEN; default: none)")
	f.BoolVar(&c.debug, "debug", false, "log at debug level (every API request)")
	f.BoolVar(&c.jsonLogs, "json-logs", false, "write logs as JSON lines")
	f.BoolVar(&c.verbose, "verbose", false, "also stream the full log to stderr (default: warnings only; the full log is in DATA_DIR/logs)")
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func defaultDataDir() string {
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "tenku")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "tenku")
	}
	return ".tenku"
}

// logger writes the full log to DATA_DIR/logs/tenku.log and warnings (or
// everything, with --verbose) to stderr.
func (c *common) logger() (*slog.Logger, io.Closer, error) {
	level := "info"
	if c.debug {
		level = "debug"
	}
	dir := filepath.Join(c.dataDir, "logs")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, "tenku.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, nil, err
	}
	termLevel := "warn"
	if c.verbose {
		termLevel = level
	}
	h := logging.Tee(
		logging.Handler(f, logging.Options{Level: level, JSON: c.jsonLogs}),
		logging.Handler(os.Stderr, logging.Options{Level: termLevel, JSON: c.jsonLogs}),
	)
	return slog.New(h), f, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		out = append(out, strings.TrimSpace(p))
	}
	return out
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

var _ = fmt.Sprint
