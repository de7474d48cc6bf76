package sessions

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestCleanHint: the name a device reports for itself reaches the page as
// plain printable text of at most 64 characters: no controls, no
// bidirectional overrides or zero-width characters, no letters that print
// as nothing, at most two combining marks on a character, no colons or
// slashes to make a link of, single spaces.
func TestCleanHint(t *testing.T) {
	for in, want := range map[string]string{
		"ada-laptop":                       "ada-laptop",
		"Codex CLI on ada-laptop (work)":   "Codex CLI on ada-laptop (work)",
		"ada.local #2 – Ada’s, [test] 50%": "ada.local #2 – Ada’s, [test] 50%",
		// Letters and symbols that show nothing.
		"\u3164":                                    "",
		"a\u3164b\u115Fc\u1160d\uFFA0e\u2800f":      "abcdef",
		"\u3164\u3164 admin \u2800":                 "admin",
		"cgj\u034F khmer\u17B4\u17B5 tag\U000E0041": "cgj khmer tag",
		// Combining marks: two on a character, none without one.
		"z\u0301\u0302\u0303\u0304\u0305algo":                         "z\u0301\u0302algo",
		"\u0301\u0302lead":                                            "lead",
		"a \u0301b":                                                   "a b",
		"ti\u1EBF\u0301ng vi\u1EC7t":                                  "ti\u1EBF\u0301ng vi\u1EC7t",
		"\u0915\u094D\u0937\u093F \u0939\u093F":                       "\u0915\u094D\u0937\u093F \u0939\u093F", // Devanagari
		"e\u0301\u200B\u0301\u0301x":                                  "e\u0301\u0301x",
		"z" + strings.Repeat("\u0301", 500) + strings.Repeat("y", 70): "z\u0301\u0301" + strings.Repeat("y", 61),
		// Web addresses lose their scheme and path.
		"https://evil.example/login":          "https evil.example login",
		"see HTTPS://evil.example":            "see HTTPS evil.example",
		"http:\\\\evil.example":               "http evil.example",
		"https\uFF1A\uFF0F\uFF0Fevil.example": "https evil.example",
		"ada-laptop: work":                    "ada-laptop work",
		"  ada \t laptop\n":                   "ada laptop",
		"evil\u202Egnp.exe":                   "evilgnp.exe",
		"zero\u200Bwidth\u2066isolate":        "zerowidthisolate",
		"bell\x07\x1b[31mred":                 "bell[31mred",
		"Ada’s MacBook Pro 🍎":                 "Ada’s MacBook Pro 🍎",
		"bad\xffutf8":                         "badutf8",
		"":                                    "",
		"\u00a0\u2003":                        "",
		strings.Repeat("x", 100):              strings.Repeat("x", 64),
		strings.Repeat("é", 100):              strings.Repeat("é", 64),
		strings.Repeat("a ", 40):              strings.TrimSpace(strings.Repeat("a ", 32)),
		"<script>alert(1)</script>":           "<script>alert(1)< script>", // escaped by the page, not here
		"e\u0301galite\u0301 combining ok":    "e\u0301galite\u0301 combining ok",
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

// FuzzCleanHint: whatever a device calls itself, the cleaned name is UTF-8
// of at most 64 characters, made of letters, marks, digits, punctuation,
// symbols and single inner spaces only, with no letter that prints as
// nothing, no colon or slash, no combining mark without a character to sit
// on nor more than two on one, and cleaning it again changes nothing.
func FuzzCleanHint(f *testing.F) {
	for _, s := range []string{"ada-laptop", "Codex CLI on ada-laptop (work)", "https://evil.example/x", "\u3164\u2800",
		"z\u0301\u0302\u0303", "\u0301a", "a \u0301", "evil\u202Egnp", "bad\xff", strings.Repeat("é", 70), "a\t\tb  c "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := CleanHint(in)
		if !utf8.ValidString(got) || utf8.RuneCountInString(got) > MaxHintRunes {
			t.Fatalf("CleanHint(%q) = %q: not UTF-8 or too long", in, got)
		}
		if strings.HasPrefix(got, " ") || strings.HasSuffix(got, " ") || strings.Contains(got, "  ") {
			t.Fatalf("CleanHint(%q) = %q: spaces not collapsed", in, got)
		}
		marks := -1
		for _, r := range got {
			switch {
			case r == ' ':
				marks = -1
				continue
			case blank(r), breaksLinks(r), !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S):
				t.Fatalf("CleanHint(%q) = %q keeps %U", in, got, r)
			case unicode.Is(unicode.M, r):
				if marks < 0 || marks >= maxMarks {
					t.Fatalf("CleanHint(%q) = %q: a mark %U without a character or past %d", in, got, r, maxMarks)
				}
				marks++
			default:
				marks = 0
			}
		}
		if again := CleanHint(got); again != got {
			t.Fatalf("CleanHint(%q) = %q, and cleaned again %q", in, got, again)
		}
	})
}
