package genesys

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// FilterEq returns the SCIM filter `attr eq "value"`. The value is written as
// a JSON string, the compValue form of RFC 7644 section 3.4.2.2: quotes,
// backslashes and control characters are escaped, so no value can end the
// string early and change the filter's structure. attr must be a plain
// attribute path (letters, digits, '.', '_', ':', '-'); values must be
// valid UTF-8 and at most 1024 bytes.
func FilterEq(attr, value string) (string, error) {
	if !validAttrPath(attr) {
		return "", fmt.Errorf("%w: SCIM attribute %q", ErrInvalidArgument, attr)
	}
	if !utf8.ValidString(value) {
		return "", fmt.Errorf("%w: SCIM filter value is not valid UTF-8", ErrInvalidArgument)
	}
	if len(value) > 1024 {
		return "", fmt.Errorf("%w: SCIM filter value is longer than 1024 bytes", ErrInvalidArgument)
	}
	var b strings.Builder
	b.Grow(len(attr) + len(value) + 8)
	b.WriteString(attr)
	b.WriteString(` eq "`)
	for _, r := range value {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String(), nil
}

func validAttrPath(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == ':' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}
