package templates

import (
	"fmt"
	"html/template"
	"strconv"
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
		"longDate":   func(t time.Time) string { return t.UTC().Format("2 January 2006, 15:04 MST") },
		"shortDate":  func(t time.Time) string { return t.UTC().Format("2 Jan 2006") },
		"group4":     group4,
		"isoTime":    func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"clock":      func(t time.Time) string { return t.UTC().Format("15:04") },
		"isoDate":    func(t time.Time) string { return t.UTC().Format(time.DateOnly) },
		"ago":        func(t time.Time) string { return ago(s.now(), t) },
		"byDay":      func(events []EventView) []eventDay { return byDay(s.now(), events) },
		"lowerFirst": lowerFirst,
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

// ago says how long before now t was, the way a person would: "just now",
// "5 minutes ago", "3 hours ago", "yesterday", "4 days ago", then the date.
// Days are counted in UTC, like every date latch shows. A time in the
// future, which a skewed clock can produce, reads as "just now".
func ago(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return count(int(d/time.Minute), "minute") + " ago"
	case d < 24*time.Hour:
		return count(int(d/time.Hour), "hour") + " ago"
	}
	switch days := daysBetween(t, now); {
	case days <= 1:
		return "yesterday"
	case days < 7:
		return count(days, "day") + " ago"
	}
	return t.UTC().Format("2 Jan 2006")
}

func count(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// daysBetween counts the UTC midnights between a and b.
func daysBetween(a, b time.Time) int {
	day := func(t time.Time) time.Time {
		y, m, d := t.UTC().Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	return int(day(b).Sub(day(a)).Hours() / 24)
}

// eventDay is one day of the activity page's timeline.
type eventDay struct {
	Label  string    // "Today", "Yesterday" or "27 November 2026"
	Date   time.Time // midnight UTC, for <time datetime>
	Events []EventView
}

// byDay groups a history that is newest first into days, keeping its order.
// Days are UTC days, the zone the page's times are given in.
func byDay(now time.Time, events []EventView) []eventDay {
	var out []eventDay
	for _, e := range events {
		y, m, d := e.At.UTC().Date()
		date := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		if n := len(out); n > 0 && out[n-1].Date.Equal(date) {
			out[n-1].Events = append(out[n-1].Events, e)
			continue
		}
		label := date.Format("2 January 2006")
		switch daysBetween(date, now) {
		case 0:
			label = "Today"
		case 1:
			label = "Yesterday"
		}
		out = append(out, eventDay{Label: label, Date: date, Events: []EventView{e}})
	}
	return out
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
