package account

import (
	"testing"

	"latch/sessions"
)

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
