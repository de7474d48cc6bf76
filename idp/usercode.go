package idp

import (
	"strings"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// User codes are what a person types at /device (RFC 8628 §6.1): 8
// characters from 20 consonants that cannot be mistaken for one another or
// for digits and spell no words (op.CharSetBase20), shown as "WDJB-MJHT"
// and typed in either case, with or without the dash. 20^8 codes are about
// 34 bits; guessing one in the 10 minutes it lives is what the per-address
// rate limit and the per-account throttle of /device are for.
const (
	userCodeAlphabet = op.CharSetBase20
	userCodeLength   = 8
)

// newUserCode returns a fresh user code in its displayed form.
func newUserCode() string {
	// NewUserCode fails only when the system's random source does, and
	// then crypto/rand panics first.
	c, _ := op.NewUserCode([]rune(userCodeAlphabet), userCodeLength, userCodeLength/2)
	return c
}

// normalizeUserCode turns a typed code into its stored form: upper case,
// without dashes or spaces ("wdjb-mjht", "WDJB MJHT" and "WDJBMJHT" are
// all "WDJBMJHT"). ok is false for anything that cannot be a user code:
// another length, a character outside the alphabet, or text that is not
// ASCII (no Unicode case folding or look-alike letters get through).
func normalizeUserCode(typed string) (code string, ok bool) {
	if len(typed) > 4*userCodeLength {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(typed); i++ {
		c := typed[i]
		switch {
		case c == '-' || c == ' ' || c == '\t':
			continue
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		if strings.IndexByte(userCodeAlphabet, c) < 0 {
			return "", false
		}
		b.WriteByte(c)
	}
	if b.Len() != userCodeLength {
		return "", false
	}
	return b.String(), true
}

// formatUserCode shows a normalised code as people read it: "WDJB-MJHT".
func formatUserCode(code string) string {
	if len(code) != userCodeLength {
		return code
	}
	return code[:userCodeLength/2] + "-" + code[userCodeLength/2:]
}

// displayUserCode returns a typed code in its displayed form ("wdjbmjht"
// is "WDJB-MJHT"), or false when the text cannot be a user code: the
// approval page answers such text without counting it as a guess.
func displayUserCode(typed string) (string, bool) {
	code, ok := normalizeUserCode(typed)
	if !ok {
		return "", false
	}
	return formatUserCode(code), true
}
