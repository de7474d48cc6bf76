package account

import (
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latch-idp/latch/sessions"
)

func wordsHandler() *Handler {
	names := map[string]string{"app-a": "Alpha", "app-b": "Beta"}
	return &Handler{Sessions: &sessions.Store{}, AppName: func(id string) string {
		if n, ok := names[id]; ok {
			return n
		}
		return id
	}}
}

// TestActivitySentences: each line of the history reads as a sentence that
// names what it is about: the device a session was ended from, the app
// signed out, the session reported (not the one the report came from), the
// device and place of a failed sign-in, the device renamed; advanced
// security in words, never its kind; and no line shows an address outside
// its details.
func TestActivitySentences(t *testing.T) {
	h := wordsHandler()
	at := time.Date(2026, 11, 27, 10, 42, 0, 0, time.UTC)
	ip := netip.MustParseAddr("127.0.0.1")
	laptop := sessions.NamedSession{ID: "11111111-1111-1111-1111-111111111111", Name: "Chrome on macOS", CustomName: "Work laptop", Place: "London"}
	phone := sessions.NamedSession{ID: "22222222-2222-2222-2222-222222222222", Name: "Safari on iPhone", Place: "Paris"}
	for _, tc := range []struct {
		name         string
		e            sessions.HistoryEvent
		title        string
		detail       string
		device, city string
	}{
		{"ended from another device",
			sessions.HistoryEvent{Kind: "session_ended", DeviceSessionID: phone.ID, Device: phone.Name, Place: phone.Place, Other: laptop,
				Detail: map[string]any{"reason": string(sessions.ReasonEndedElsewhere), "by": laptop.ID}},
			"Session ended", "from Work laptop", "Safari on iPhone", "Paris"},
		{"ended, signed out there",
			sessions.HistoryEvent{Kind: "session_ended", DeviceSessionID: phone.ID, Device: phone.Name, Detail: map[string]any{"reason": string(sessions.ReasonSignedOut)}},
			"Session ended", "signed out on the device", "Safari on iPhone", ""},
		{"an app signed out from another device",
			sessions.HistoryEvent{Kind: "app_session_ended", DeviceSessionID: phone.ID, Device: phone.Name, Place: phone.Place, Other: laptop,
				Detail: map[string]any{"reason": string(sessions.ReasonEndedElsewhere), "client_id": "app-a", "by": laptop.ID}},
			"Signed out of Alpha", "from Work laptop", "Safari on iPhone", "Paris"},
		{"reported as not you",
			sessions.HistoryEvent{Kind: "reported_not_me", DeviceSessionID: laptop.ID, Device: laptop.Name, CustomName: laptop.CustomName, Place: laptop.Place,
				Other: phone, Detail: map[string]any{"session": phone.ID}},
			"Session reported as not you", "from Work laptop", "Safari on iPhone", "Paris"},
		{"a failed sign-in, in no session",
			sessions.HistoryEvent{Kind: "signin_failed", IP: &ip, UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
				Detail: map[string]any{"method": "password"}},
			"Failed sign-in", "with a password", "Firefox on Linux", sessions.ThisComputer},
		{"advanced security on",
			sessions.HistoryEvent{Kind: "advanced_on", DeviceSessionID: laptop.ID, Device: laptop.Name, Detail: map[string]any{"sessions_ended": float64(2)}},
			"Advanced security turned on", "and signed out of 2 other sessions", "Chrome on macOS", ""},
		{"advanced security off",
			sessions.HistoryEvent{Kind: "advanced_off", DeviceSessionID: laptop.ID, Device: laptop.Name},
			"Advanced security turned off", "", "Chrome on macOS", ""},
		{"a device renamed",
			sessions.HistoryEvent{Kind: "device_renamed", DeviceSessionID: laptop.ID, Device: laptop.Name, Other: phone,
				Detail: map[string]any{"session": phone.ID, "name": "My phone", "from": ""}},
			"Renamed Safari on iPhone to “My phone”", "", "Chrome on macOS", ""},
		{"a device no longer trusted",
			sessions.HistoryEvent{Kind: "device_untrusted", DeviceSessionID: laptop.ID, Device: laptop.Name, Other: phone,
				Detail: map[string]any{"session": phone.ID}},
			"Stopped trusting Safari on iPhone", "", "Chrome on macOS", ""},
		{"a confirmation",
			sessions.HistoryEvent{Kind: "step_up", DeviceSessionID: laptop.ID, Device: laptop.Name, Detail: map[string]any{"amr": []any{"hwk", "user"}}},
			"Confirmed it was you", "with a passkey", "Chrome on macOS", ""},
		{"an app allowed",
			sessions.HistoryEvent{Kind: "consent_granted", DeviceSessionID: laptop.ID, Device: laptop.Name, Detail: map[string]any{"client_id": "app-b"}},
			"Allowed Beta", "", "Chrome on macOS", ""},
	} {
		tc.e.At = at
		v := h.eventView(tc.e)
		if v.Title != tc.title || v.Detail != tc.detail || v.Device != tc.device || v.Location != tc.city {
			t.Errorf("%s: %q %q on %q in %q; want %q %q on %q in %q", tc.name, v.Title, v.Detail, v.Device, v.Location,
				tc.title, tc.detail, tc.device, tc.city)
		}
		if strings.Contains(v.Title+v.Detail, "_") {
			t.Errorf("%s: a raw name in %q %q", tc.name, v.Title, v.Detail)
		}
		line := v.Title + " " + v.Detail + " " + v.Device + " " + v.Location
		if regexp.MustCompile(`\d+\.\d+\.\d+\.\d+|::`).MatchString(line) {
			t.Errorf("%s: an address in the line: %q", tc.name, line)
		}
	}
}

// TestEndedReasonNamesDevice: recently ended says which of the person's
// devices a session was ended or reported from.
func TestEndedReasonNamesDevice(t *testing.T) {
	by := sessions.NamedSession{Name: "Chrome on macOS", CustomName: "Work laptop"}
	for _, tc := range []struct {
		reason sessions.EndReason
		by     sessions.NamedSession
		want   string
	}{
		{sessions.ReasonEndedElsewhere, by, "Ended from Work laptop"},
		{sessions.ReasonEndedElsewhere, sessions.NamedSession{Name: "Chrome on macOS"}, "Ended from Chrome on macOS"},
		{sessions.ReasonEndedElsewhere, sessions.NamedSession{}, "Ended from another device"},
		{sessions.ReasonNotMe, by, "Reported as not you from Work laptop"},
		{sessions.ReasonExpired, by, "Expired"},
		{"something new", sessions.NamedSession{}, "Ended"},
	} {
		if got := endReason(tc.reason, tc.by); got != tc.want {
			t.Errorf("endReason(%q, %+v) = %q, want %q", tc.reason, tc.by, got, tc.want)
		}
	}
}

// TestJoinNames: the flash after ending names every session it ended.
func TestJoinNames(t *testing.T) {
	for _, tc := range []struct {
		names   []string
		unnamed int
		want    string
	}{
		{[]string{"Firefox on Linux"}, 0, "Firefox on Linux"},
		{[]string{"Firefox on Linux", "Safari on iPhone"}, 0, "Firefox on Linux and Safari on iPhone"},
		{[]string{"Firefox on Linux", "Safari on iPhone", "Edge on Windows"}, 0, "Firefox on Linux, Safari on iPhone and Edge on Windows"},
		{[]string{"Firefox on Linux", "Safari on iPhone", "Firefox on Linux"}, 0, "Firefox on Linux (2 sessions) and Safari on iPhone"},
		{[]string{"Firefox on Linux"}, 1, "Firefox on Linux and 1 other session"},
		{[]string{"Firefox on Linux"}, 12, "Firefox on Linux and 12 other sessions"},
		{nil, 3, "3 sessions"},
	} {
		if got := joinNames(tc.names, tc.unnamed); got != tc.want {
			t.Errorf("joinNames(%q, %d) = %q, want %q", tc.names, tc.unnamed, got, tc.want)
		}
	}
}

// TestChangeSentences: the step-up page's heading is "Confirm it's you";
// the sentence under it says what waits, without saying it again.
func TestChangeSentences(t *testing.T) {
	for _, a := range []string{"", "passkey_rename", "passkey_remove", "passkey_reinstate", "totp_begin", "totp_remove",
		"recovery_generate", "password_set", "password_remove", "advanced_leave", "unknown"} {
		s := changeSentence(a)
		if strings.Contains(strings.ToLower(s), "confirm it") {
			t.Errorf("changeSentence(%q) = %q repeats the heading", a, s)
		}
		if s == "" || !strings.HasSuffix(s, ".") {
			t.Errorf("changeSentence(%q) = %q", a, s)
		}
	}
	if got := changeSentence("passkey_rename"); got != "To rename a passkey, latch needs a recent sign-in." {
		t.Errorf("rename: %q", got)
	}
}

// TestReportedPath: a form's way back is the sessions page or a checklist,
// never anywhere else.
func TestReportedPath(t *testing.T) {
	for p, want := range map[string]bool{
		"/account/sessions/11111111-1111-1111-1111-111111111111/reported":               true,
		"/account/sessions/x/reported":                                                  false,
		"//evil.example/account/sessions/11111111-1111-1111-1111-111111111111/reported": false,
		"/account/sessions/11111111-1111-1111-1111-111111111111/reported/../../x":       false,
		"https://evil.example/": false,
		"":                      false,
	} {
		if reportedPath(p) != want {
			t.Errorf("reportedPath(%q) = %v", p, !want)
		}
	}
}
