package idp

import (
	"strings"
	"testing"
)

// TestUserCodes: user codes are 8 consonants shown as XXXX-XXXX, typed in
// any case with or without the dash, and nothing else reads as one.
func TestUserCodes(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c := newUserCode()
		norm, ok := normalizeUserCode(c)
		if !ok || len(c) != 9 || c[4] != '-' || formatUserCode(norm) != c {
			t.Fatalf("new user code %q (normalised %q, %v)", c, norm, ok)
		}
		seen[norm] = true
	}
	if len(seen) < 999 {
		t.Fatalf("%d distinct codes in 1000", len(seen))
	}
	for typed, want := range map[string]string{
		"WDJB-MJHT":                           "WDJBMJHT",
		"wdjb-mjht":                           "WDJBMJHT",
		"wdjbmjht":                            "WDJBMJHT",
		" WDJB MJHT ":                         "WDJBMJHT",
		"W-D-J-B-MJHT":                        "WDJBMJHT",
		"WDJB-MJH":                            "",
		"WDJB-MJHTX":                          "",
		"WDJA-MJHT":                           "", // a vowel
		"WDJB-MJH0":                           "", // a digit
		"WDJB–MJHT":                           "", // an en dash is not ASCII
		"ＷDJB-MJHT":                           "", // a fullwidth W
		"WDJB\x00MJHT":                        "",
		"":                                    "",
		strings.Repeat("-", 100) + "WDJBMJHT": "",
	} {
		got, ok := normalizeUserCode(typed)
		if got != want || ok != (want != "") {
			t.Errorf("normalizeUserCode(%q) = %q, %v; want %q", typed, got, ok, want)
		}
	}
}

// FuzzNormalizeUserCode: whatever is typed, a code that normalises is 8
// characters of the alphabet, normalises to itself, reads the same in its
// displayed form and in lower case, and no other text maps onto it but
// by case, dashes and spaces. Text that does not normalise has no
// displayed form either (the approval page answers it as no code at all),
// and a code that does is shown as XXXX-XXXX.
func FuzzNormalizeUserCode(f *testing.F) {
	for _, s := range []string{"WDJB-MJHT", "wdjb mjht", "WDJBMJHT", "", "\x00", "WDJB-MJH", "ＷDJB-MJHT", "wdjb–mjht", "WDJB-MJHT-", "x1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		code, ok := normalizeUserCode(typed)
		shown, shownOK := displayUserCode(typed)
		if shownOK != ok || shownOK && (len(shown) != userCodeLength+1 || shown[userCodeLength/2] != '-' || shown != formatUserCode(code)) {
			t.Fatalf("%q normalised to %q, %v but shown as %q, %v", typed, code, ok, shown, shownOK)
		}
		if !ok {
			if code != "" || shown != "" {
				t.Fatalf("refused %q but returned %q, %q", typed, code, shown)
			}
			return
		}
		if len(code) != userCodeLength {
			t.Fatalf("%q normalised to %q", typed, code)
		}
		for _, c := range code {
			if !strings.ContainsRune(userCodeAlphabet, c) {
				t.Fatalf("%q normalised to %q, outside the alphabet", typed, code)
			}
		}
		for _, again := range []string{code, formatUserCode(code), strings.ToLower(code), strings.ToLower(formatUserCode(code))} {
			if c, ok := normalizeUserCode(again); !ok || c != code {
				t.Fatalf("%q normalises to %q, %v; want %q", again, c, ok, code)
			}
		}
		stripped := strings.Map(func(r rune) rune {
			if r == '-' || r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, typed)
		if strings.ToUpper(stripped) != code {
			t.Fatalf("%q normalised to %q", typed, code)
		}
	})
}
