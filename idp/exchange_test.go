package idp

import (
	"slices"
	"strings"
	"testing"
)

func TestGrantScopes(t *testing.T) {
	subject := []string{"openid", "email", "files:read", "pull_requests:write"}
	allowed := []string{"openid", "files:read", "pull_requests:write", "files:write"}
	for name, tc := range map[string]struct {
		requested, want []string
		err             bool
	}{
		"none asked: both hold": {nil, []string{"openid", "files:read", "pull_requests:write"}, false},
		"narrower":              {[]string{"files:read"}, []string{"files:read"}, false},
		"repeated":              {[]string{"files:read", "files:read"}, []string{"files:read"}, false},
		"agent may not":         {[]string{"email"}, nil, true},
		"subject lacks":         {[]string{"files:write"}, nil, true},
		"one too many":          {[]string{"files:read", "files:write"}, nil, true},
	} {
		got, err := grantScopes(tc.requested, subject, allowed)
		if (err != nil) != tc.err || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v %v", name, got, err)
		}
	}
	if _, err := grantScopes(nil, []string{"email"}, allowed); err == nil {
		t.Fatal("an exchange that grants nothing was allowed")
	}
}

func TestCleanNote(t *testing.T) {
	for in, want := range map[string]string{
		"cloud task 7f3":                       "cloud task 7f3",
		"  cloud\ttask\n\n7f3  ":               "cloud task 7f3",
		"evil\u202egnp.exe":                    "evilgnp.exe",
		"zero\u200bwidth\ufeff":                "zerowidth",
		"bell\x07":                             "bell",
		"日本のタスク":                               "日本のタスク",
		"see https://evil.example/login":       "see https evil.example login",
		"ㅤ⠀fillerㅤ":                            "filler",
		"á́́́b":                               "á́b",
		strings.Repeat("é", maxNoteRunes):      strings.Repeat("é", maxNoteRunes),
		strings.Repeat("a ", maxNoteRunes/2+5): "",
	} {
		got, err := CleanNote(in)
		if want == "" {
			if err == nil {
				t.Errorf("CleanNote(%.20q…) = %q, want refused", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("CleanNote(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{strings.Repeat("n", maxNoteRunes+1), "bad \xff utf-8", strings.Repeat("n", 10000)} {
		if _, err := CleanNote(in); err == nil {
			t.Errorf("CleanNote(%.20q…) accepted", in)
		}
	}
}

// FuzzCleanNote: whatever a starting app sends, a note that is accepted is
// short, valid UTF-8, and holds no control or format character.
func FuzzCleanNote(f *testing.F) {
	f.Add("cloud task 7f3")
	f.Add("a\u202eb\x00c\r\nd")
	f.Fuzz(func(t *testing.T, in string) {
		out, err := CleanNote(in)
		if err != nil {
			return
		}
		if len([]rune(out)) > maxNoteRunes || strings.ContainsFunc(out, func(r rune) bool {
			return r < 0x20 || r == 0x7f || (r >= 0x200b && r <= 0x200f) || (r >= 0x202a && r <= 0x202e) || r == 0xfeff
		}) || strings.HasPrefix(out, " ") || strings.HasSuffix(out, " ") || strings.Contains(out, "  ") {
			t.Fatalf("CleanNote(%q) = %q", in, out)
		}
	})
}
