package web

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ValidText reports whether s is text a person could have typed: valid
// UTF-8, at most max bytes, and no control characters (NUL included, which
// PostgreSQL refuses in text). Names, emails and the like pass it before
// they reach SQL or a page.
func ValidText(s string, max int) bool {
	return len(s) <= max && utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

// validValue reports whether a request value can be handled at all: valid
// UTF-8 without NUL. Other control characters are left to the handlers
// (ValidText), since some fields carry them legitimately (a textarea's
// line breaks).
func validValue(s string) bool {
	return utf8.ValidString(s) && !strings.Contains(s, "\x00")
}

// validValues checks every key and value of a parsed query or form.
func validValues(v url.Values) bool {
	for k, vs := range v {
		if !validValue(k) {
			return false
		}
		for _, s := range vs {
			if !validValue(s) {
				return false
			}
		}
	}
	return true
}

// validJSON reports whether a JSON body is valid UTF-8 and holds no NUL,
// neither raw nor as the escape \u0000 (RFC 8259 §7), which decodes to a
// NUL that PostgreSQL refuses. It does not check the syntax: the handler's
// decoder does.
func validJSON(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case 0:
			return false
		case '\\':
			if i+5 < len(b) && (b[i+1] == 'u') && string(b[i+2:i+6]) == "0000" {
				return false
			}
			i++ // the escaped character, so "\\u0000" (a backslash, then text) passes
		}
	}
	return true
}
