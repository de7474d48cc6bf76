package templates

import (
	"fmt"
	"html/template"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// funcs are the functions every page may call. The clock-reading ones
// close over s, so that a Now set after Parse is followed; assets maps each
// static file to its content hash.
func (s *Set) funcs(assets map[string]string) template.FuncMap {
	return template.FuncMap{
		// asset returns the URL of a static file with a content hash in the
		// query, so Static can let browsers cache for a year and a new
		// release is still fetched at once.
		"asset": func(name string) (string, error) {
			v, ok := assets[name]
			if !ok {
				return "", fmt.Errorf("templates: no static asset %q", name)
			}
			return "/static/" + name + "?v=" + v, nil
		},
		"initials":   initials,
		"group4":     group4,
		"lowerFirst": lowerFirst,
		// when formats a time for the "time" template in the person's
		// zone, .Base.Zone; see timeView for the kinds.
		"when": func(zone *time.Location, kind string, t time.Time, class ...string) (TimeView, error) {
			return timeView(s.now(), zone, kind, t, class...)
		},
		"byDay": func(zone *time.Location, events []EventView) []eventDay {
			return byDay(s.now(), zone, events)
		},
		"zoneNote": zoneNote,
		"deviceName": func(name string) string {
			if name == "" {
				return "Unknown device"
			}
			return name
		},
	}
}

// initials returns up to two letters for the avatar on the account page: the
// first letters of the first and last words of the name, or the first letter
// of the email when there is no name.
func initials(name, email string) string {
	words := strings.FieldsFunc(name, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	first := func(s string) string {
		r, _ := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError {
			return ""
		}
		return string(unicode.ToUpper(r))
	}
	switch len(words) {
	case 0:
		return first(email)
	case 1:
		return first(words[0])
	default:
		return first(words[0]) + first(words[len(words)-1])
	}
}

// lowerFirst lowers the first letter of a label so that it can follow
// other words ("Signed in with " + "passkey"), unless the first word holds
// another capital and so is an acronym or a name ("TOTP", "YubiKey").
func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError || !unicode.IsUpper(r) {
		return s
	}
	word := s[n:]
	if i := strings.IndexFunc(word, unicode.IsSpace); i >= 0 {
		word = word[:i]
	}
	if strings.ContainsFunc(word, unicode.IsUpper) {
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}

// group4 splits a TOTP secret into groups of four characters, the way
// authenticator apps ask for it to be typed. Spaces and padding in the input
// are dropped first.
func group4(secret string) []string {
	secret = strings.TrimRight(strings.ReplaceAll(secret, " ", ""), "=")
	var out []string
	for len(secret) > 4 {
		out = append(out, secret[:4])
		secret = secret[4:]
	}
	if secret != "" {
		out = append(out, secret)
	}
	return out
}
