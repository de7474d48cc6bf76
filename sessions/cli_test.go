package sessions

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestCleanHint: the name a device reports for itself reaches the page as
// plain printable text of at most 64 characters: no controls, no
// bidirectional overrides or zero-width characters, single spaces.
func TestCleanHint(t *testing.T) {
	for in, want := range map[string]string{
		"ada-laptop":                       "ada-laptop",
		"  ada \t laptop\n":                "ada laptop",
		"evil\u202Egnp.exe":                "evilgnp.exe",
		"zero\u200Bwidth\u2066isolate":     "zerowidthisolate",
		"bell\x07\x1b[31mred":              "bell[31mred",
		"Ada’s MacBook Pro 🍎":              "Ada’s MacBook Pro 🍎",
		"bad\xffutf8":                      "badutf8",
		"":                                 "",
		"\u00a0\u2003":                     "",
		strings.Repeat("x", 100):           strings.Repeat("x", 64),
		strings.Repeat("é", 100):           strings.Repeat("é", 64),
		strings.Repeat("a ", 40):           strings.TrimSpace(strings.Repeat("a ", 32)),
		"<script>alert(1)</script>":        "<script>alert(1)</script>", // escaped by the page, not here
		"e\u0301galite\u0301 combining ok": "e\u0301galite\u0301 combining ok",
	} {
		got := CleanHint(in)
		if got != want {
			t.Errorf("CleanHint(%q) = %q, want %q", in, got, want)
		}
		if utf8.RuneCountInString(got) > MaxHintRunes || !utf8.ValidString(got) {
			t.Errorf("CleanHint(%q) = %q: too long or not UTF-8", in, got)
		}
	}
}

// TestDescribeCLI: a CLI session is named after the app, the device's own
// name and the system its User-Agent names.
func TestDescribeCLI(t *testing.T) {
	for _, c := range []struct{ app, hint, ua, want string }{
		{"Codex CLI", "ada-laptop", "codex-cli/1.0 (linux; amd64)", "Codex CLI on ada-laptop · Linux"},
		{"Codex CLI", "Codex CLI on ada-laptop", "Go-http-client/1.1", "Codex CLI on ada-laptop"},
		{"Codex CLI", "codex cli on ada-laptop", "latch-demo-cli/1 (darwin)", "codex cli on ada-laptop · macOS"},
		{"Codex CLI", "", "curl/8.5.0", "Codex CLI"},
		{"Codex CLI", "", "x (Windows NT 10.0)", "Codex CLI · Windows"},
		{"Codex CLI", "my Linux box", "x (linux)", "Codex CLI on my Linux box"},
		{"Codex CLI", "", "linuxbrew/1.0", "Codex CLI"},
		{"", "", "", "Command-line app"},
		{"", "box", "", "box"},
	} {
		if got := DescribeCLI(c.app, c.hint, c.ua); got != c.want {
			t.Errorf("DescribeCLI(%q, %q, %q) = %q, want %q", c.app, c.hint, c.ua, got, c.want)
		}
	}
}

// TestStartedFrom: what an agent was started from reads right whatever the
// session: the app on a browser, a command-line or desktop session's own
// name (which names the app already), and a name the person gave the
// device instead of latch's.
func TestStartedFrom(t *testing.T) {
	for _, c := range []struct{ app, kind, name, custom, want string }{
		{"ChatGPT", KindBrowser, "Chrome on macOS", "", "ChatGPT on Chrome on macOS"},
		{"ChatGPT", "", "Chrome on macOS", "", "ChatGPT on Chrome on macOS"},
		{"ChatGPT", KindBrowser, "", "", "ChatGPT on an unknown device"},
		{"Codex CLI", KindCLI, "Codex CLI on ada-laptop · Linux", "", "Codex CLI on ada-laptop · Linux"},
		{"Alpha Desktop", KindNative, "Alpha Desktop on studio · macOS", "", "Alpha Desktop on studio · macOS"},
		{"Codex CLI", KindCLI, "", "", "Codex CLI on an unknown device"},
		{"Codex CLI", KindCLI, "Codex CLI on ada-laptop · Linux", "build box", "Codex CLI on build box"},
		{"ChatGPT", KindBrowser, "Chrome on macOS", "Work laptop", "ChatGPT on Work laptop"},
		{"Codex CLI", KindCLI, "Codex CLI on ada-laptop · Linux", "codex cli at home", "codex cli at home"},
		{"Codex", KindCLI, "Codex CLI on ada-laptop", "Codexbox", "Codex on Codexbox"},
	} {
		if got := StartedFrom(c.app, c.kind, c.name, c.custom); got != c.want {
			t.Errorf("StartedFrom(%q, %q, %q, %q) = %q, want %q", c.app, c.kind, c.name, c.custom, got, c.want)
		}
	}
}
