package dashboard

import "strconv"

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// deref is a string pointer's value, "" for nil.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
