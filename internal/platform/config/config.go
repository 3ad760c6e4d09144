package config

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// File is a parsed INI file: section → key → values (a key may repeat).
type File map[string]map[string][]string

// ParseFile reads an INI file.
func ParseFile(path string) (File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(f)
}

// Parse reads INI text: "[section]" headers, "key = value" lines, '#' and ';'
// comments. Keys before any header belong to DEFAULT.
func Parse(r io.Reader) (File, error) {
	out := File{}
	section := "DEFAULT"
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("line %d: malformed section header %q", n, line)
			}
			section = strings.TrimSpace(line[1 : len(line)-1])
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			k, v, ok = strings.Cut(line, ":")
		}
		if !ok {
			return nil, fmt.Errorf("line %d: expected key = value, got %q", n, line)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
			v = v[1 : len(v)-1]
		}
		if out[section] == nil {
			out[section] = map[string][]string{}
		}
		out[section][k] = append(out[section][k], v)
	}
	return out, sc.Err()
}

// Option describes one option of a configuration struct.
type Option struct {
	Section string
	Name    string
	Help    string
	Default string
	Type    string
	field   reflect.Value
}

// Options lists every option of cfg (a pointer to a struct), in declaration order.
func Options(cfg any) ([]Option, error) {
	v := reflect.ValueOf(cfg)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("config: want a pointer to a struct, got %T", cfg)
	}
	var out []Option
	walk(v.Elem(), "DEFAULT", &out)
	return out, nil
}

func walk(v reflect.Value, section string, out *[]Option) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		if s, ok := f.Tag.Lookup("section"); ok {
			if fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					fv.Set(reflect.New(fv.Type().Elem()))
				}
				fv = fv.Elem()
			}
			walk(fv, s, out)
			continue
		}
		name, ok := f.Tag.Lookup("opt")
		if !ok {
			if f.Anonymous && fv.Kind() == reflect.Struct {
				walk(fv, section, out)
			}
			continue
		}
		*out = append(*out, Option{
			Section: section, Name: name, Help: f.Tag.Get("help"),
			Default: format(fv), Type: typeName(fv), field: fv,
		})
	}
}

func typeName(v reflect.Value) string {
	if v.Type() == reflect.TypeOf(time.Duration(0)) {
		return "duration"
	}
	switch v.Kind() {
	case reflect.Slice:
		return "list"
	case reflect.Map:
		return "dict"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "integer"
	case reflect.Float64:
		return "floating point"
	case reflect.Bool:
		return "boolean"
	}
	return "string"
}

func format(v reflect.Value) string {
	switch x := v.Interface().(type) {
	case time.Duration:
		return x.String()
	case []string:
		return strings.Join(x, ",")
	case map[string]string:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ":" + x[k]
		}
		return strings.Join(parts, ",")
	case bool:
		if x {
			return "true"
		}
		return "false"
	}
	return fmt.Sprint(v.Interface())
}

// Set parses s into the option's field.
func (o Option) Set(values ...string) error {
	if len(values) == 0 {
		return nil
	}
	s := values[len(values)-1]
	v := o.field
	var err error
	switch v.Interface().(type) {
	case time.Duration:
		var d time.Duration
		if n, e := strconv.ParseFloat(s, 64); e == nil {
			d = time.Duration(n * float64(time.Second))
		} else {
			d, err = time.ParseDuration(s)
		}
		if err == nil {
			v.SetInt(int64(d))
		}
	case []string:
		var list []string
		for _, one := range values {
			for _, p := range strings.Split(one, ",") {
				if p = strings.TrimSpace(p); p != "" {
					list = append(list, p)
				}
			}
		}
		v.Set(reflect.ValueOf(list))
	case map[string]string:
		m := map[string]string{}
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			k, val, ok := strings.Cut(p, ":")
			if !ok {
				return fmt.Errorf("[%s] %s: %q is not key:value", o.Section, o.Name, p)
			}
			m[strings.TrimSpace(k)] = strings.TrimSpace(val)
		}
		v.Set(reflect.ValueOf(m))
	case string:
		v.SetString(s)
	case bool:
		var b bool
		b, err = strconv.ParseBool(strings.ToLower(s))
		if err == nil {
			v.SetBool(b)
		}
	case int, int64, int32:
		var n int64
		n, err = strconv.ParseInt(s, 10, 64)
		if err == nil {
			v.SetInt(n)
		}
	case float64:
		var f float64
		f, err = strconv.ParseFloat(s, 64)
		if err == nil {
			v.SetFloat(f)
		}
	default:
		return fmt.Errorf("[%s] %s: unsupported option type %s", o.Section, o.Name, v.Type())
	}
	if err != nil {
		return fmt.Errorf("[%s] %s: invalid %s %q", o.Section, o.Name, typeName(v), s)
	}
	return nil
}

// Apply sets cfg's options from an INI file. Unknown sections and options are
// returned as warnings (oslo.config ignores them too), not errors.
func Apply(cfg any, f File) (unknown []string, err error) {
	opts, err := Options(cfg)
	if err != nil {
		return nil, err
	}
	known := map[string]Option{}
	for _, o := range opts {
		known[o.Section+"\x00"+o.Name] = o
	}
	for sec, kv := range f {
		for k, vals := range kv {
			o, ok := known[sec+"\x00"+k]
			if !ok {
				unknown = append(unknown, fmt.Sprintf("[%s] %s", sec, k))
				continue
			}
			if err := o.Set(vals...); err != nil {
				return unknown, err
			}
		}
	}
	sort.Strings(unknown)
	return unknown, nil
}

// EnvName is the environment variable that overrides an option:
// TENKU_<SECTION>__<NAME>, upper-cased, with '-' and '.' as '_'.
func EnvName(section, name string) string {
	r := strings.NewReplacer("-", "_", ".", "_")
	return "TENKU_" + strings.ToUpper(r.Replace(section)) + "__" + strings.ToUpper(r.Replace(name))
}

// ApplyEnv sets options from environment variables named by EnvName.
func ApplyEnv(cfg any, lookup func(string) (string, bool)) error {
	opts, err := Options(cfg)
	if err != nil {
		return err
	}
	for _, o := range opts {
		if v, ok := lookup(EnvName(o.Section, o.Name)); ok {
			if err := o.Set(v); err != nil {
				return err
			}
		}
	}
	return nil
}

// Sample writes the documented sample configuration: every section and option
// with its help, type and default, commented out as oslo-config-generator does.
func Sample(w io.Writer, cfg any) error {
	opts, err := Options(cfg)
	if err != nil {
		return err
	}
	bySection := map[string][]Option{}
	var order []string
	for _, o := range opts {
		if _, ok := bySection[o.Section]; !ok {
			order = append(order, o.Section)
		}
		bySection[o.Section] = append(bySection[o.Section], o)
	}
	bw := bufio.NewWriter(w)
	for i, s := range order {
		if i > 0 {
			bw.WriteString("\n")
		}
		fmt.Fprintf(bw, "[%s]\n", s)
		for _, o := range bySection[s] {
			bw.WriteString("\n")
			for _, line := range wrap(o.Help, 76) {
				fmt.Fprintf(bw, "# %s\n", line)
			}
			fmt.Fprintf(bw, "# (%s value)\n#%s = %s\n", o.Type, o.Name, o.Default)
		}
	}
	return bw.Flush()
}

func wrap(s string, width int) []string {
	words := strings.Fields(s)
	if len(words) == 0 {
		return []string{"(no help)"}
	}
	var lines []string
	cur := words[0]
	for _, w := range words[1:] {
		if len(cur)+1+len(w) > width {
			lines = append(lines, cur)
			cur = w
			continue
		}
		cur += " " + w
	}
	return append(lines, cur)
}
