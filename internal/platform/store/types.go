package store

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Time is a time stored as BIGINT microseconds since the Unix epoch (UTC); the
// zero Time is stored as NULL.
type Time struct{ time.Time }

// TimeOf wraps t.
func TimeOf(t time.Time) Time { return Time{t} }

// Now returns the current time at the precision stored.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Value implements driver.Valuer.
func (t Time) Value() (driver.Value, error) {
	if t.IsZero() {
		return nil, nil
	}
	return t.UnixMicro(), nil
}

// Scan implements sql.Scanner.
func (t *Time) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		t.Time = time.Time{}
	case int64:
		t.Time = time.UnixMicro(v).UTC()
	case []byte:
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return fmt.Errorf("store.Time: %q is not microseconds", v)
		}
		t.Time = time.UnixMicro(n).UTC()
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("store.Time: %q is not microseconds", v)
		}
		t.Time = time.UnixMicro(n).UTC()
	default:
		return fmt.Errorf("store.Time: cannot scan %T", src)
	}
	return nil
}

// JSON stores a value as JSON text.
type JSON[T any] struct{ V T }

// JSONOf wraps v.
func JSONOf[T any](v T) JSON[T] { return JSON[T]{v} }

// Value implements driver.Valuer.
func (j JSON[T]) Value() (driver.Value, error) {
	b, err := json.Marshal(j.V)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// Scan implements sql.Scanner; NULL leaves the zero value.
func (j *JSON[T]) Scan(src any) error {
	var zero T
	j.V = zero
	switch v := src.(type) {
	case nil:
		return nil
	case []byte:
		return json.Unmarshal(v, &j.V)
	case string:
		return json.Unmarshal([]byte(v), &j.V)
	}
	return fmt.Errorf("store.JSON: cannot scan %T", src)
}

// NullString maps "" to NULL and NULL to "".
type NullString string

// Value implements driver.Valuer.
func (s NullString) Value() (driver.Value, error) {
	if s == "" {
		return nil, nil
	}
	return string(s), nil
}

// Scan implements sql.Scanner.
func (s *NullString) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*s = ""
	case string:
		*s = NullString(v)
	case []byte:
		*s = NullString(v)
	default:
		return fmt.Errorf("store.NullString: cannot scan %T", src)
	}
	return nil
}
