package query

import "strings"

// GlobLike translates a glob pattern of the ~ and !~ operators into a SQL
// LIKE pattern whose escape character is a backslash: * becomes %, ? becomes
// _, and literal %, _ and \ are escaped. Backends bind the result as a
// placeholder with LIKE ? ESCAPE '\' (ClickHouse's LIKE escapes with \
// already).
func GlobLike(glob string) string {
	var b strings.Builder
	b.Grow(len(glob) + 2)
	for i := 0; i < len(glob); i++ {
		switch c := glob[i]; c {
		case '*':
			b.WriteByte('%')
		case '?':
			b.WriteByte('_')
		case '%', '_', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// ContainsLike returns the LIKE pattern (backslash escape) matching any
// text that contains s, for the contains operator on string fields; use it
// with ILIKE (case-insensitive).
func ContainsLike(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 4)
	b.WriteByte('%')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%', '_', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('%')
	return b.String()
}
