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
// included, since they could make the name read as something else on the
// page; every other space becomes one plain space. The result may be "".
// It is still the device's claim, never a fact: pages say so.
func CleanHint(s string) string {
	var b strings.Builder
	n, space := 0, false
	for _, r := range s {
		if n >= MaxHintRunes {
			break
		}
		switch {
		case r == unicode.ReplacementChar:
			continue
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S):
		default:
			// Cc, Cf (bidi controls, zero-width joiners), Co, Cs, Cn.
			continue
		}
		if space {
			if n+1 >= MaxHintRunes {
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
