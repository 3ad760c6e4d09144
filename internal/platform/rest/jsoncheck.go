package rest

import (
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// CheckJSON is the one check every service's request body passes before it
// is decoded: exactly one JSON value (nothing but white space after it),
// valid UTF-8, and no string holding a lone UTF-16 surrogate escape
// ("\ud800" alone), which decoders would otherwise store as U+FFFD.
func CheckJSON(buf []byte) error {
	if !utf8.Valid(buf) {
		return errors.New("the body is not valid UTF-8")
	}
	if !json.Valid(buf) {
		var v any
		if err := json.Unmarshal(buf, &v); err != nil {
			return err
		}
		return errors.New("the body is not one JSON value")
	}
	return checkSurrogates(buf)
}

// checkSurrogates scans a valid JSON text for \u escapes of surrogates that
// are not a high surrogate followed at once by a low one.
func checkSurrogates(buf []byte) error {
	lone := errors.New("a string holds a lone UTF-16 surrogate")
	inString := false
	for i := 0; i < len(buf); i++ {
		c := buf[i]
		if !inString {
			if c == '"' {
				inString = true
			}
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 < len(buf) && buf[i+1] == 'u' {
				u, ok := hex4(buf, i+2)
				if !ok {
					return lone
				}
				switch {
				case u >= 0xD800 && u <= 0xDBFF:
					if i+7 < len(buf) && buf[i+6] == '\\' && buf[i+7] == 'u' {
						if l, ok := hex4(buf, i+8); ok && l >= 0xDC00 && l <= 0xDFFF {
							i += 11
							continue
						}
					}
					return lone
				case u >= 0xDC00 && u <= 0xDFFF:
					return lone
				}
				i += 5
				continue
			}
			i++ // skip the escaped character
		}
	}
	return nil
}

func hex4(buf []byte, at int) (rune, bool) {
	if at+4 > len(buf) {
		return 0, false
	}
	var r rune
	for _, c := range buf[at : at+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			r |= rune(c-'A') + 10
		default:
			return 0, false
		}
	}
	return r, true
}
