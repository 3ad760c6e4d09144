package rest

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// Version is an API microversion such as 2.93.
type Version struct{ Major, Minor int }

// V returns the version major.minor.
func V(major, minor int) Version { return Version{major, minor} }

// ParseVersion parses "2.93".
func ParseVersion(s string) (Version, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), ".")
	if !ok {
		return Version{}, fmt.Errorf("invalid version %q", s)
	}
	maj, err1 := atoiSaturating(a)
	min, err2 := atoiSaturating(b)
	if err1 != nil || err2 != nil || maj < 0 || min < 0 || strings.HasPrefix(b, "+") || strings.HasPrefix(a, "+") {
		return Version{}, fmt.Errorf("invalid version %q", s)
	}
	return Version{maj, min}, nil
}

// atoiSaturating parses decimal digits; a well-formed number too large for an
// int is the largest int (so "2.100000000000000000000" is a version above
// every maximum, answered 406 as OpenStack's unbounded integers do, not a
// malformed one).
func atoiSaturating(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange && s != "" && s[0] != '-' && s[0] != '+' {
			return math.MaxInt32, nil
		}
	}
	return n, err
}

// String returns "major.minor".
func (v Version) String() string { return strconv.Itoa(v.Major) + "." + strconv.Itoa(v.Minor) }

// IsZero reports whether v is unset.
func (v Version) IsZero() bool { return v == Version{} }

// Less reports whether v < o.
func (v Version) Less(o Version) bool {
	return v.Major < o.Major || v.Major == o.Major && v.Minor < o.Minor
}

// AtLeast reports whether v >= o.
func (v Version) AtLeast(o Version) bool { return !v.Less(o) }

// Matches reports whether v lies in [min, max]; a zero bound is open.
func (v Version) Matches(min, max Version) bool {
	if !min.IsZero() && v.Less(min) {
		return false
	}
	if !max.IsZero() && max.Less(v) {
		return false
	}
	return true
}

// Microversion says how a service negotiates microversions: the service type named
// in "OpenStack-API-Version: compute 2.93", an optional legacy header
// (X-OpenStack-Nova-API-Version), and the supported range.
type Microversion struct {
	ServiceType string
	Legacy      string
	Min, Max    Version
}

// negotiate picks the version a request asks for.
func (m *Microversion) negotiate(h http.Header) (Version, error) {
	raw := ""
	for _, v := range h.Values("OpenStack-API-Version") {
		for _, part := range strings.Split(v, ",") {
			typ, ver, _ := strings.Cut(strings.TrimSpace(part), " ")
			if strings.EqualFold(typ, m.ServiceType) {
				raw = strings.TrimSpace(ver)
			}
		}
	}
	if raw == "" && m.Legacy != "" {
		raw = strings.TrimSpace(h.Get(m.Legacy))
	}
	if raw == "" {
		return m.Min, nil
	}
	if strings.EqualFold(raw, "latest") {
		return m.Max, nil
	}
	v, err := ParseVersion(raw)
	if err != nil {
		return Version{}, fault.BadRequest("API Version String %s is of invalid format. Must be of format MajorNum.MinorNum.", raw)
	}
	if !v.Matches(m.Min, m.Max) {
		return Version{}, fault.NotAcceptable("Version %s is not supported by the API. Minimum is %s and maximum is %s.", v, m.Min, m.Max)
	}
	return v, nil
}

func (m *Microversion) headers(h http.Header, v Version) {
	h.Set("OpenStack-API-Version", m.ServiceType+" "+v.String())
	vary := "OpenStack-API-Version"
	if m.Legacy != "" {
		h.Set(m.Legacy, v.String())
		vary += ", " + m.Legacy
	}
	h.Add("Vary", vary)
}
