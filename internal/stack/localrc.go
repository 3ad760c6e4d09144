package stack

import (
	"bufio"
	"io"
	"os"
	"strings"
)

// LocalConf is what tenku understands of a devstack local.conf or localrc: shell
// variable assignments (ADMIN_PASSWORD=..., SERVICE_PASSWORD=...) and
// enable_service / disable_service lines. In a local.conf only the
// [[local|localrc]] section counts, as in devstack.
type LocalConf struct {
	Vars     map[string]string
	Enable   []string
	Disable  []string
	Problems []string
}

// ReadLocalConf parses a local.conf or localrc file; a missing file is empty.
func ReadLocalConf(path string) (*LocalConf, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return &LocalConf{Vars: map[string]string{}}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseLocalConf(f), nil
}

// ParseLocalConf parses local.conf / localrc text.
func ParseLocalConf(r io.Reader) *LocalConf {
	lc := &LocalConf{Vars: map[string]string{}}
	sc := bufio.NewScanner(r)
	inLocalrc := true // a plain localrc has no sections
	sawSection := false
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[[") {
			sawSection = true
			inLocalrc = strings.EqualFold(strings.ReplaceAll(line, " ", ""), "[[local|localrc]]")
			continue
		}
		if !inLocalrc && sawSection || line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		switch fields[0] {
		case "enable_service":
			lc.Enable = append(lc.Enable, fields[1:]...)
			continue
		case "disable_service":
			lc.Disable = append(lc.Disable, fields[1:]...)
			continue
		case "disable_all_services":
			lc.Disable = append(lc.Disable, "all")
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.ContainsAny(k, " \t$") {
			lc.Problems = append(lc.Problems, "ignored line "+itoa(n)+": "+line)
			continue
		}
		lc.Vars[k] = unquote(strings.TrimSpace(v))
	}
	return lc
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		return v[1 : len(v)-1]
	}
	// An unquoted value ends at a comment.
	if i := strings.Index(v, " #"); i >= 0 {
		v = strings.TrimSpace(v[:i])
	}
	return v
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
