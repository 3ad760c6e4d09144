package api

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// Nova's parameters often accept a number or a numeric string; these helpers
// read them as Nova does after its schema has passed.

// intParam reads an integer given as a JSON number or string.
func intParam(field string, v any, min, max int64) (int, error) {
	var n int64
	switch x := v.(type) {
	case float64:
		if x != math.Trunc(x) {
			return 0, fault.BadRequest("Invalid input for field/attribute %s. Value: %v. %v is not of type 'integer', 'string'", field, x, x)
		}
		n = int64(x)
	case json.Number:
		i, err := x.Int64()
		if err != nil {
			return 0, fault.BadRequest("Invalid input for field/attribute %s. Value: %s. %s is not of type 'integer'", field, x, x)
		}
		n = i
	case string:
		s := strings.TrimSpace(x)
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil || s == "" {
			return 0, fault.BadRequest("Invalid input for field/attribute %s. Value: %s. '%s' does not match '^[0-9]+$'", field, x, x)
		}
		n = i
	case bool:
		return 0, fault.BadRequest("Invalid input for field/attribute %s. Value: %v. %v is not of type 'integer', 'string'", field, x, x)
	case nil:
		return 0, fault.BadRequest("Invalid input for field/attribute %s. Value: None. None is not of type 'integer', 'string'", field)
	default:
		return 0, fault.BadRequest("Invalid input for field/attribute %s. Value: %v. It is not of type 'integer', 'string'", field, v)
	}
	if n < min {
		return 0, fault.BadRequest("Invalid input for field/attribute %s. Value: %d. %d is less than the minimum of %d", field, n, n, min)
	}
	if n > max {
		return 0, fault.BadRequest("Invalid input for field/attribute %s. Value: %d. %d is greater than the maximum of %d", field, n, n, max)
	}
	return int(n), nil
}

// boolParam reads one of Nova's boolean spellings.
func boolParam(field string, v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		switch strings.ToLower(x) {
		case "true", "1", "on", "yes":
			return true, nil
		case "false", "0", "off", "no":
			return false, nil
		}
	}
	return false, fault.BadRequest("Invalid input for field/attribute %s. Value: %v. %v is not one of the accepted boolean values", field, v, v)
}

// queryBool reads a boolean query parameter as oslo's strutils.bool_from_string
// with strict=True.
func queryBool(name, s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "t", "true", "on", "y", "yes":
		return true, nil
	case "0", "f", "false", "off", "n", "no":
		return false, nil
	}
	return false, fault.BadRequest("Invalid value '%s' for %s: it must be a boolean.", s, name)
}

// validName checks Nova's "name" format: printable characters, not
// starting or ending with whitespace, 1 to 255 characters.
func validName(field, s string, allowEdgeSpace bool) error {
	if s == "" || len([]rune(s)) > 255 {
		return fault.BadRequest("Invalid input for field/attribute %s. Value: %s. '%s' is too %s", field, s, s, map[bool]string{true: "short", false: "long"}[s == ""])
	}
	for _, r := range s {
		if !unicode.IsPrint(r) && r != ' ' {
			return fault.BadRequest("Invalid input for field/attribute %s. Value: %s. '%s' does not match the name format: printable characters. Can not start or end with whitespace.", field, s, s)
		}
	}
	if strings.TrimSpace(s) == "" {
		return fault.BadRequest("Invalid input for field/attribute %s. Value: %s. '%s' does not match the name format: printable characters with at least one non space character", field, s, s)
	}
	if !allowEdgeSpace && (unicode.IsSpace([]rune(s)[0]) || unicode.IsSpace([]rune(s)[len([]rune(s))-1])) {
		return fault.BadRequest("Invalid input for field/attribute %s. Value: %s. '%s' does not match the name format: printable characters. Can not start or end with whitespace.", field, s, s)
	}
	return nil
}

// validDescription checks Nova's description format: printable characters
// (whitespace included), at most 255 (servers) or 65535 (flavors).
func validDescription(field, s string, max int) error {
	if len([]rune(s)) > max {
		return fault.BadRequest("Invalid input for field/attribute %s. Value: %s. '%s' is too long", field, s, s)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) && !unicode.IsSpace(r) {
			return fault.BadRequest("Invalid input for field/attribute %s. Value: %s. '%s' does not match the description format", field, s, s)
		}
	}
	return nil
}

// decodeMap reads a JSON body into a generic map, keeping numbers exact.
func decodeMap(raw []byte) (map[string]any, error) {
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, fault.BadRequest("Malformed request body: %v", err)
	}
	if m == nil {
		return nil, fault.BadRequest("The request body must be a JSON object.")
	}
	return m, nil
}
