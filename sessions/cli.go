package sessions

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"unicode"

	"github.com/latch-idp/latch/internal/pg"
)

// Command-line and desktop sign-ins (the device authorization grant) are
// device sessions of their own, named after the app and the name the device
// reported for itself: "Codex CLI on ada-laptop · Linux".

// MaxHintRunes bounds the name a device reports for itself.
const MaxHintRunes = 64

// maxSessionNameRunes bounds a CLI session's whole name: the app's name,
// the hint and the system.
const maxSessionNameRunes = 160

// CleanHint makes the name a device reported for itself (its device_name)
// fit to show: printable letters, marks, digits, punctuation, symbols and
// single spaces only, at most MaxHintRunes. Control and formatting
// characters go, bidirectional overrides and zero-width characters
// included, and so do letters that print as nothing (the Hangul fillers,
// the Braille blank and the other default-ignorable letters), since they
// could make the name read as something else on the page or look empty.
// A base character keeps at most two combining marks, so a stack of them
// cannot spill over the page. Colons and slashes become spaces: a web
// address the device sends ("https://evil.example/login") loses its scheme
// and path, so the alert email, whose text part mail programs turn into
// links, shows no link of the device's making. Every space becomes one
// plain space. The result may be "". It is still the device's claim, never
// a fact: pages say so.
func CleanHint(s string) string { return CleanText(s, MaxHintRunes) }

// CleanText is CleanHint's cleaning for any text a client reports about
// itself, cut to max characters: a device's name, the note an app gives
// about its agent.
func CleanText(s string, max int) string {
	var b strings.Builder
	n, space, marks := 0, false, -1 // marks: after a base character; -1 before any
	for _, r := range s {
		if n >= max {
			break
		}
		switch {
		case r == unicode.ReplacementChar, blank(r):
			continue
		case unicode.IsSpace(r), breaksLinks(r):
			space, marks = b.Len() > 0, -1
			continue
		case unicode.Is(unicode.M, r):
			// A mark with no base (at the start, after a space) would
			// sit on the text around the name.
			if marks < 0 || marks >= maxMarks {
				continue
			}
			marks++
		case unicode.In(r, unicode.L, unicode.N, unicode.P, unicode.S):
			marks = 0
		default:
			// Cc, Cf (bidi controls, zero-width joiners), Co, Cs, Cn.
			continue
		}
		if space {
			if n+1 >= max {
				break
			}
			b.WriteByte(' ')
			n++
			space = false
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// maxMarks is how many combining marks CleanHint keeps on one character:
// enough for any script's accents and vowel signs, too few to pile up.
const maxMarks = 2

// blank reports whether r is a letter or symbol that shows nothing: the
// Hangul fillers (U+115F, U+1160, U+3164, U+FFA0) and the other
// default-ignorable code points outside Cf, and the Braille pattern blank
// (U+2800).
func blank(r rune) bool {
	return r == '\u2800' || unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r)
}

// breaksLinks reports whether r is one of the characters CleanHint turns
// into a space to break web addresses: the colon and the slashes, and
// their look-alikes.
func breaksLinks(r rune) bool {
	switch r {
	case ':', '/', '\\', '\uFF1A', '\uFF0F', '\uFF3C', '\uFE13', '\uFE55', '\u2236', '\uA789', '\u02D0', '\u2044', '\u2215', '\u29F8', '\u29F5':
		return true
	}
	return false
}

// cliSystems maps words a command-line tool's User-Agent may carry to the
// names of systems people say, checked in this order. Only these names
// ever reach a page: nothing is copied from the header.
var cliSystems = []struct{ word, name string }{
	{"windows", "Windows"},
	{"darwin", "macOS"},
	{"macos", "macOS"},
	{"mac os x", "macOS"},
	{"freebsd", "FreeBSD"},
	{"openbsd", "OpenBSD"},
	{"linux", "Linux"},
}

// CLISystem names the operating system a command-line tool's User-Agent
// mentions ("latch-demo-cli/1.0 (linux; amd64)" is Linux), or "".
func CLISystem(userAgent string) string {
	if len(userAgent) > maxUserAgentBytes {
		userAgent = userAgent[:maxUserAgentBytes]
	}
	ua := strings.ToLower(userAgent)
	for _, s := range cliSystems {
		if i := strings.Index(ua, s.word); i >= 0 && wordAt(ua, i, len(s.word)) {
			return s.name
		}
	}
	return ""
}

// wordAt reports whether s[i:i+n] stands alone: no letter right before or
// after it ("linuxbrew" is not Linux).
func wordAt(s string, i, n int) bool {
	isLetter := func(c byte) bool { return 'a' <= c && c <= 'z' }
	return (i == 0 || !isLetter(s[i-1])) && (i+n == len(s) || !isLetter(s[i+n]))
}

// DescribeCLI names a command-line or desktop sign-in: the app's name
// (the clients file's device_name), the name the device reported (already
// cleaned by CleanHint), and the system its User-Agent names, as in "Codex
// CLI on ada-laptop · Linux". A hint that already starts with the app's
// name is taken as the whole name ("Codex CLI on ada-laptop").
func DescribeCLI(app, hint, userAgent string) string {
	name := app
	switch {
	case hint == "":
	case app == "":
		name = hint
	case len(hint) >= len(app) && strings.EqualFold(hint[:len(app)], app):
		name = hint
	default:
		name = app + " on " + hint
	}
	if name == "" {
		name = "Command-line app"
	}
	if sys := CLISystem(userAgent); sys != "" && !strings.Contains(strings.ToLower(name), strings.ToLower(sys)) {
		name += " · " + sys
	}
	return capRunes(name, maxSessionNameRunes)
}

// MoveTx records the address a CLI or native session was last seen from,
// and its place, inside a caller's transaction: the device authorization
// is approved from the request's address, and the tokens are collected
// from the polling one.
func (s *Store) MoveTx(ctx context.Context, q pg.Querier, id string, ip netip.Addr) error {
	if !IsID(id) || !ip.IsValid() {
		return nil
	}
	place := ""
	if p := s.Locator.Locate(ip); p.Known() {
		place = p.String()
	}
	_, err := q.Exec(ctx, `UPDATE device_sessions SET ip = $2, place = $3
		WHERE id = $1 AND ended_at IS NULL AND ip IS DISTINCT FROM $2`, id, ip, place)
	if err != nil {
		return fmt.Errorf("sessions: move: %w", err)
	}
	return nil
}

// TouchApp records a refresh as activity of a CLI or native session, at
// most once a minute: such a session has no cookie, and its app refreshing
// is how it stays in use (and alive past its idle limit). A browser
// session is left alone, as its cookie says when it is used.
func (s *Store) TouchApp(ctx context.Context, id string) error {
	if !IsID(id) {
		return nil
	}
	now := s.Now().UTC()
	_, err := s.DB.Exec(ctx, `UPDATE device_sessions SET last_active_at = $2
		WHERE id = $1 AND kind <> 'browser' AND ended_at IS NULL AND last_active_at < $2::timestamptz - interval '1 minute'`,
		id, now)
	return err
}
