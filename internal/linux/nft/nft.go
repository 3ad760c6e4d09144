package nft

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
)

// Handle runs nft in one namespace ("" for the caller's).
type Handle struct{ NS string }

func (h Handle) cmd(ctx context.Context, args ...string) *exec.Cmd {
	if h.NS == "" {
		return exec.CommandContext(ctx, "nft", args...)
	}
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.NS, "nft"}, args...)...)
}

// Run runs an nft script (nft -f -) as one transaction.
func (h Handle) Run(ctx context.Context, script string) error {
	c := h.cmd(ctx, "-f", "-")
	c.Stdin = strings.NewReader(script)
	out, err := c.CombinedOutput()
	if err != nil {
		return fmt.Errorf("nft: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// ReplaceTable makes table family/name hold exactly body (the text inside
// "table family name { ... }"), atomically.
func (h Handle) ReplaceTable(ctx context.Context, family, name, body string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "add table %s %s\ndelete table %s %s\ntable %s %s {\n%s\n}\n", family, name, family, name, family, name, body)
	return h.Run(ctx, b.String())
}

// DeleteTable removes a table; absent is fine.
func (h Handle) DeleteTable(ctx context.Context, family, name string) error {
	return h.Run(ctx, fmt.Sprintf("add table %s %s\ndelete table %s %s\n", family, name, family, name))
}

// Table is a table's family and name.
type Table struct{ Family, Name string }

// Tables lists the tables of the namespace.
func (h Handle) Tables(ctx context.Context) ([]Table, error) {
	out, err := h.cmd(ctx, "-j", "list", "tables").Output()
	if err != nil {
		return nil, fmt.Errorf("nft list tables: %w", err)
	}
	var doc struct {
		Nftables []map[string]json.RawMessage `json:"nftables"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out), &doc); err != nil {
		return nil, fmt.Errorf("nft list tables: %w", err)
	}
	var ts []Table
	for _, e := range doc.Nftables {
		raw, ok := e["table"]
		if !ok {
			continue
		}
		var t struct {
			Family string `json:"family"`
			Name   string `json:"name"`
		}
		if json.Unmarshal(raw, &t) == nil {
			ts = append(ts, Table{t.Family, t.Name})
		}
	}
	return ts, nil
}

// List returns a table's ruleset as nft prints it ("" when absent).
func (h Handle) List(ctx context.Context, family, name string) (string, error) {
	out, err := h.cmd(ctx, "list", "table", family, name).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "No such file") {
			return "", nil
		}
		return "", fmt.Errorf("nft list table: %v: %s", err, out)
	}
	return string(out), nil
}

// Quote returns s as an nft string literal (interface names).
func Quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
