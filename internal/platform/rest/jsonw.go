package rest

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// The JSON writer of the services whose bodies are hot (Neutron's lists,
// Glance's images): structs are written field by field in declaration order,
// keeping only the fields a ?fields= query asked for and dropping those
// policy hides. The field list of each Go type is built once by reflection;
// strings, numbers, booleans, pointers, slices and nested structs are written
// without encoding/json, anything else through it.

type fieldEnc struct {
	name  string
	key   []byte // `"name":`
	index []int
	enc   func(b []byte, v reflect.Value) []byte
}

// StructEncoder writes one Go struct type as a JSON object.
type StructEncoder struct {
	fields []fieldEnc
	byName map[string]int
}

var encoders sync.Map // reflect.Type → *StructEncoder

// EncoderFor returns the (cached) encoder of a struct type.
func EncoderFor(t reflect.Type) *StructEncoder {
	if e, ok := encoders.Load(t); ok {
		return e.(*StructEncoder)
	}
	e := &StructEncoder{byName: map[string]int{}}
	collect(t, nil, e)
	encoders.Store(t, e)
	return e
}

func collect(t reflect.Type, index []int, e *StructEncoder) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		idx := append(append([]int(nil), index...), i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct && f.Tag.Get("json") == "" {
			collect(f.Type, idx, e)
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if _, dup := e.byName[name]; dup {
			continue
		}
		e.byName[name] = len(e.fields)
		e.fields = append(e.fields, fieldEnc{name: name, key: AppendString(nil, name), index: idx, enc: valueEncoder(f.Type)})
	}
}

func valueEncoder(t reflect.Type) func(b []byte, v reflect.Value) []byte {
	switch t.Kind() {
	case reflect.String:
		return func(b []byte, v reflect.Value) []byte { return AppendString(b, v.String()) }
	case reflect.Bool:
		return func(b []byte, v reflect.Value) []byte { return strconv.AppendBool(b, v.Bool()) }
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(b []byte, v reflect.Value) []byte { return strconv.AppendInt(b, v.Int(), 10) }
	case reflect.Pointer:
		elem := valueEncoder(t.Elem())
		return func(b []byte, v reflect.Value) []byte {
			if v.IsNil() {
				return append(b, "null"...)
			}
			return elem(b, v.Elem())
		}
	case reflect.Slice:
		elem := valueEncoder(t.Elem())
		return func(b []byte, v reflect.Value) []byte {
			b = append(b, '[')
			for i := 0; i < v.Len(); i++ {
				if i > 0 {
					b = append(b, ',')
				}
				b = elem(b, v.Index(i))
			}
			return append(b, ']')
		}
	case reflect.Struct:
		var once sync.Once
		var se *StructEncoder
		return func(b []byte, v reflect.Value) []byte {
			once.Do(func() { se = EncoderFor(t) })
			return se.Append(b, v, nil, nil)
		}
	}
	return func(b []byte, v reflect.Value) []byte {
		if (v.Kind() == reflect.Map || v.Kind() == reflect.Interface) && v.IsNil() {
			if v.Kind() == reflect.Map {
				return append(b, "{}"...)
			}
			return append(b, "null"...)
		}
		raw, err := json.Marshal(v.Interface())
		if err != nil {
			return append(b, "null"...)
		}
		return append(b, raw...)
	}
}

// Fields is the set of fields a request asked for (nil: all).
type Fields map[string]bool

// Append writes v as an object of its fields, keeping those in keep (nil:
// all) and dropping those in hide.
func (e *StructEncoder) Append(b []byte, v reflect.Value, keep Fields, hide []string) []byte {
	b = append(b, '{')
	first := true
	for i := range e.fields {
		f := &e.fields[i]
		if keep != nil && !keep[f.name] {
			continue
		}
		if len(hide) > 0 && slices.Contains(hide, f.name) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, f.key...)
		b = append(b, ':')
		b = f.enc(b, v.FieldByIndex(f.index))
	}
	return append(b, '}')
}

// FieldValue returns the value of a field by JSON name (for sorting).
func (e *StructEncoder) FieldValue(v reflect.Value, name string) (reflect.Value, bool) {
	i, ok := e.byName[name]
	if !ok {
		return reflect.Value{}, false
	}
	return v.FieldByIndex(e.fields[i].index), true
}

const hexDigits = "0123456789abcdef"

// AppendString writes s as a JSON string: UTF-8 kept as it is (Python's
// json.dumps with ensure_ascii=False), the quote, the backslash and the
// control characters escaped, U+2028 and U+2029 escaped so that the body is
// also safe inside a script, and invalid UTF-8 replaced by U+FFFD.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	b = AppendStringBody(b, s)
	return append(b, '"')
}

// AppendStringBody is AppendString without the quotes, for a string made
// of several pieces.
func AppendStringBody(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(b, s[start:]...)
}

// ParseFields reads ?fields=a&fields=b,c (nil: all fields), as Neutron and
// Glance take them.
func ParseFields(r *Request) Fields {
	out := Fields{}
	for _, v := range r.HTTP.URL.Query()["fields"] {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out[f] = true
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
