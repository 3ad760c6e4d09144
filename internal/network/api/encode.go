package api

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// The encoder writes resources as Neutron does, keeping only the requested
// fields and dropping those policy hides. Field lists of each Go type are
// built once by reflection; values are written without encoding/json for
// the common kinds.

type fieldEnc struct {
	name  string
	key   []byte // `"name":`
	index []int
	enc   func(b []byte, v reflect.Value) []byte
}

type structEnc struct {
	fields []fieldEnc
	byName map[string]int
}

var encoders sync.Map // reflect.Type → *structEnc

func encoderFor(t reflect.Type) *structEnc {
	if e, ok := encoders.Load(t); ok {
		return e.(*structEnc)
	}
	e := &structEnc{byName: map[string]int{}}
	collect(t, nil, e)
	encoders.Store(t, e)
	return e
}

func collect(t reflect.Type, index []int, e *structEnc) {
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
		e.fields = append(e.fields, fieldEnc{name: name, key: appendString(nil, name), index: idx, enc: valueEncoder(f.Type)})
	}
}

func valueEncoder(t reflect.Type) func(b []byte, v reflect.Value) []byte {
	switch t.Kind() {
	case reflect.String:
		return func(b []byte, v reflect.Value) []byte { return appendString(b, v.String()) }
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
		var se *structEnc
		return func(b []byte, v reflect.Value) []byte {
			once.Do(func() { se = encoderFor(t) })
			return se.append(b, v, nil, nil)
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

// fieldSet is the requested fields (nil: all).
type fieldSet map[string]bool

// append writes v as an object of its fields, keeping those in keep (nil:
// all) and dropping those in hide.
func (e *structEnc) append(b []byte, v reflect.Value, keep fieldSet, hide []string) []byte {
	b = append(b, '{')
	first := true
	for i := range e.fields {
		f := &e.fields[i]
		if keep != nil && !keep[f.name] {
			continue
		}
		if len(hide) > 0 && contains(hide, f.name) {
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

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// fieldValue returns the value of a field by JSON name (for sorting).
func (e *structEnc) fieldValue(v reflect.Value, name string) (reflect.Value, bool) {
	i, ok := e.byName[name]
	if !ok {
		return reflect.Value{}, false
	}
	return v.FieldByIndex(e.fields[i].index), true
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
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
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
