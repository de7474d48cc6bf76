package sessions

import (
	"slices"
	"testing"
)

func TestParseSecurityMode(t *testing.T) {
	for _, s := range []string{"standard", "advanced"} {
		if m, err := ParseSecurityMode(s); err != nil || string(m) != s {
			t.Errorf("ParseSecurityMode(%q) = %q, %v", s, m, err)
		}
	}
	for _, s := range []string{"", "Standard", "strict"} {
		if m, err := ParseSecurityMode(s); err == nil {
			t.Errorf("ParseSecurityMode(%q) = %q, want an error", s, m)
		}
	}
}

// TestMethodWords: each method's words on the pages, in alerts and in the
// metrics, and the method a session's amr shows.
func TestMethodWords(t *testing.T) {
	for _, tc := range []struct {
		m                     Method
		title, phrase, metric string
	}{
		{MethodPassword, "Password", "a password", "password"},
		{MethodPasskey, "Passkey", "a passkey", "passkey"},
		{MethodPasswordTOTP, "Password and authenticator app", "a password and authenticator app", "totp"},
		{MethodPasswordRecoveryKey, "Recovery key", "a recovery key", "recovery_key"},
		{MethodRecoveryKey, "Recovery key", "a recovery key", "recovery_key"},
		{"carrier_pigeon", "carrier_pigeon", "carrier_pigeon", "carrier_pigeon"},
		{"", "Unknown", "", ""},
	} {
		if got := tc.m.Title(); got != tc.title {
			t.Errorf("%q.Title() = %q, want %q", tc.m, got, tc.title)
		}
		if got := tc.m.Phrase(); got != tc.phrase {
			t.Errorf("%q.Phrase() = %q, want %q", tc.m, got, tc.phrase)
		}
		if got := tc.m.Metric(); got != tc.metric {
			t.Errorf("%q.Metric() = %q, want %q", tc.m, got, tc.metric)
		}
	}
	for _, tc := range []struct {
		amr     []string
		m       Method
		factors []string
	}{
		{[]string{"hwk", "user", "mfa"}, MethodPasskey, []string{"Passkey"}},
		{[]string{"swk", "user", "mfa"}, MethodPasskey, []string{"Passkey"}},
		{[]string{"pwd"}, MethodPassword, []string{"Password"}},
		{[]string{"pwd", "otp", "mfa"}, MethodPasswordTOTP, []string{"Password", "Authenticator app"}},
		{[]string{"otp"}, MethodRecoveryKey, []string{"Authenticator app"}},
		{nil, "", nil},
	} {
		if got := MethodOf(tc.amr); got != tc.m {
			t.Errorf("MethodOf(%v) = %q, want %q", tc.amr, got, tc.m)
		}
		if got := FactorWords(tc.amr); !slices.Equal(got, tc.factors) {
			t.Errorf("FactorWords(%v) = %q, want %q", tc.amr, got, tc.factors)
		}
	}
}
