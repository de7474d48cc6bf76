package account

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/latch-idp/latch/authn"
	"github.com/latch-idp/latch/internal/web"
	"github.com/latch-idp/latch/sessions"
	"github.com/latch-idp/latch/templates"
)

// eventWords says what each kind of history event was, for people, and
// which icon family it belongs to. Every kind in sessions.EventKinds has
// its words here (activity_words_test.go holds the page to that).
var eventWords = map[sessions.EventKind]struct{ kind, title string }{
	sessions.EventSignIn:              {"signin", "Signed in"},
	sessions.EventNewDevice:           {"new_device", "Signed in on a new device"},
	sessions.EventSignInFailed:        {"lock", "Failed sign-in"},
	sessions.EventSignInThrottled:     {"lock", "Sign-ins from unknown devices slowed down after failed attempts"},
	sessions.EventAccountLocked:       {"lock", "Password sign-in locked after too many wrong second-factor codes"},
	sessions.EventSessionEnded:        {"ended", "Session ended"},
	sessions.EventAppSessionEnded:     {"ended", "Signed out of an app"},
	sessions.EventReportedNotMe:       {"ended", "Session reported as not you"},
	sessions.EventPasskeyAdded:        {"credential", "Passkey added"},
	sessions.EventPasskeyRenamed:      {"credential", "Passkey renamed"},
	sessions.EventPasskeyRemoved:      {"credential", "Passkey removed"},
	sessions.EventPasskeyCloneRefused: {"lock", "A copied passkey was refused"},
	sessions.EventPasskeySuspended:    {"lock", "Passkey suspended as a possible copy"},
	sessions.EventPasskeyReinstated:   {"credential", "Suspended passkey confirmed as yours"},
	sessions.EventTOTPAdded:           {"credential", "Authenticator app turned on"},
	sessions.EventTOTPRemoved:         {"credential", "Authenticator app removed"},
	sessions.EventRecoveryGenerated:   {"credential", "New recovery keys generated"},
	sessions.EventRecoveryKeyUsed:     {"recovery", "Recovery key used"},
	sessions.EventPasswordSet:         {"credential", "Password changed"},
	sessions.EventPasswordRemoved:     {"credential", "Password removed"},
	sessions.EventStepUp:              {"other", "Confirmed it was you"},
	sessions.EventDeviceUntrusted:     {"credential", "Stopped trusting a device"},
	sessions.EventDeviceRenamed:       {"other", "Renamed a device"},
	sessions.EventDeviceApproved:      {"new_device", "Signed in a command-line app"},
	sessions.EventDeviceDenied:        {"ended", "Refused a command-line sign-in"},
	sessions.EventConsentGranted:      {"app", "Allowed an app"},
	sessions.EventConsentWidened:      {"app", "Allowed an app more"},
	sessions.EventConsentRemoved:      {"app", "Removed an app's access"},
	sessions.EventAdvancedOn:          {"credential", "Advanced security turned on"},
	sessions.EventAdvancedOff:         {"credential", "Advanced security turned off"},
	sessions.EventAgentStarted:        {"new_device", "An agent started acting for you"},
	sessions.EventAgentEnded:          {"ended", "An agent stopped acting for you"},
}

// endedWords are how a session_ended line says why, after "Session ended".
var endedWords = map[sessions.EndReason]string{
	sessions.ReasonSignedOut:      "signed out on the device",
	sessions.ReasonEndedElsewhere: "from another device",
	sessions.ReasonNotMe:          "reported as not you",
	sessions.ReasonExpired:        "expired",
	sessions.ReasonAdvanced:       "when advanced security was turned on",
	sessions.ReasonReplaced:       "another account signed in on that browser",
	sessions.ReasonTokenReuse:     "after a stolen token was detected",
	sessions.ReasonAdministrator:  "by an administrator",
	sessions.ReasonPassword:       "when the password changed",
	sessions.ReasonAccessRemoved:  "when its app's access was removed",
}

func (h *Handler) activity(w http.ResponseWriter, r *http.Request) {
	web.NoStore(w)
	d, ok := h.current(w, r)
	if !ok {
		return
	}
	events, err := h.Sessions.History(r.Context(), d.AccountID, 200)
	if err != nil {
		h.failSessions(w, r, err)
		return
	}
	base, name, err := h.sessionsBase(w, r, "Activity", d)
	if err != nil {
		h.failSessions(w, r, err)
		return
	}
	// The checklist after a report counts this page as looked at.
	h.markActivitySeen(w)
	p := templates.ActivityPage{Base: base, Name: name}
	for _, e := range events {
		p.Events = append(p.Events, h.eventView(e))
	}
	h.Pages.Render(w, http.StatusOK, templates.Activity.With(p))
}

// eventView puts one line of the history into words: what happened, to
// what, and on which device from where. An event that names another
// session (the one reported, ended from, no longer trusted, renamed) is
// told with that session's name; one that happened in no session (a
// failed sign-in) names the device and place its request came from.
func (h *Handler) eventView(e sessions.HistoryEvent) templates.EventView {
	words, ok := eventWords[e.Kind]
	if !ok {
		// Not reached: sessions.Record refuses a kind without words.
		words = struct{ kind, title string }{"other", "Something changed on your account"}
	}
	v := templates.EventView{At: e.At, Kind: words.kind, Title: words.title, Location: e.Place}
	if e.Device != "" || e.CustomName != "" {
		v.Device = named(e.CustomName, e.Device)
	} else if e.DeviceSessionID == "" {
		v.Device, v.Location = h.requestPlace(e)
	}
	if e.IP != nil {
		v.IP = e.IP.String()
	}
	other := ""
	if e.Other.ID != "" {
		other = named(e.Other.CustomName, e.Other.Name)
	}
	str := func(k string) string { s, _ := e.Detail[k].(string); return s }
	switch e.Kind {
	case sessions.EventSignIn, sessions.EventNewDevice, sessions.EventSignInFailed, sessions.EventSignInThrottled, sessions.EventAccountLocked:
		if m := str("method"); m != "" {
			v.Detail = "with " + sessions.Method(m).Phrase()
		}
	case sessions.EventStepUp:
		if phrase := sessions.MethodOf(detailStrings(e.Detail["amr"])).Phrase(); phrase != "" {
			v.Detail = "with " + phrase
		}
	case sessions.EventSessionEnded:
		reason := sessions.EndReason(str("reason"))
		switch {
		case reason == sessions.ReasonEndedElsewhere && other != "":
			v.Detail = "from " + other
		case endedWords[reason] != "":
			v.Detail = endedWords[reason]
		}
	case sessions.EventAgentStarted:
		if agent, by := str("agent"), str("started_by"); agent != "" && by != "" {
			v.Detail = agent + ", started from " + by
		}
	case sessions.EventAgentEnded:
		if c := str("client_id"); c != "" && h.AppName != nil {
			v.Detail = h.AppName(c)
			if sessions.EndReason(str("reason")) == sessions.ReasonStopped {
				v.Detail += ", stopped by you"
			}
		}
	case sessions.EventAppSessionEnded:
		if c := str("client_id"); c != "" && h.AppName != nil {
			v.Title = "Signed out of " + h.AppName(c)
		}
		if other != "" {
			v.Detail = "from " + other
		} else if sessions.EndReason(str("reason")) == sessions.ReasonSignedOut {
			v.Detail = "on the device itself"
		}
	case sessions.EventReportedNotMe:
		// The line is about the session reported, not the one the button
		// was pressed on.
		by := v.Device
		if e.Other.ID != "" {
			v.Device, v.Location = other, e.Other.Place
		} else {
			v.Device, v.Location = "", ""
		}
		if by != "" {
			v.Detail = "from " + by
		}
	case sessions.EventDeviceUntrusted:
		if other != "" {
			v.Title = "Stopped trusting " + other
		}
	case sessions.EventDeviceRenamed:
		from := named("", e.Other.Name)
		if f := str("from"); f != "" {
			from = f
		}
		if n := str("name"); n != "" {
			v.Title = "Renamed " + from + " to “" + n + "”"
		} else {
			v.Title = "Took the name “" + from + "” off a device"
		}
	case sessions.EventDeviceApproved, sessions.EventDeviceDenied:
		if n := str("name"); n != "" {
			v.Detail = n
		}
		if str("kind") == sessions.KindNative {
			v.Title = map[sessions.EventKind]string{sessions.EventDeviceApproved: "Signed in a desktop app",
				sessions.EventDeviceDenied: "Refused a desktop app's sign-in"}[e.Kind]
		}
	case sessions.EventConsentGranted, sessions.EventConsentWidened, sessions.EventConsentRemoved:
		h.permissionWords(&v, e.Kind, e.Detail)
	case sessions.EventPasskeyAdded, sessions.EventPasskeyRenamed, sessions.EventPasskeyRemoved, sessions.EventPasskeyCloneRefused, sessions.EventPasskeySuspended, sessions.EventPasskeyReinstated:
		if n := str("name"); n != "" {
			v.Detail = "“" + n + "”"
		}
	case sessions.EventRecoveryKeyUsed:
		switch str("during") {
		case "second factor":
			v.Detail = "as the second step of a sign-in"
		case "recovery sign-in":
			v.Detail = "to get back in"
		}
	}
	if n, ok := e.Detail["sessions_ended"].(float64); ok && n > 0 {
		if v.Detail != "" {
			v.Detail += ", "
		}
		if n == 1 {
			v.Detail += "and signed out of 1 other session"
		} else {
			v.Detail += "and signed out of " + strconv.Itoa(int(n)) + " other sessions"
		}
	}
	return v
}

// permissionWords tells a line of the permission history: which app, and
// what changed: what it may do since it was allowed, what it was allowed
// besides, or on how many devices its removal signed it out ("Allowed
// Partner Notes" "to know who you are on latch, see your email address").
func (h *Handler) permissionWords(v *templates.EventView, kind sessions.EventKind, detail map[string]any) {
	client, _ := detail["client_id"].(string)
	if client == "" || h.AppName == nil {
		return
	}
	name := h.AppName(client)
	scopes := func(key string) []string { return detailStrings(detail[key]) }
	switch kind {
	case sessions.EventConsentGranted:
		v.Title = "Allowed " + name
		if words := authn.Permissions(scopes("scopes")); len(words) > 0 {
			v.Detail = "to " + lowerAll(words)
		}
	case sessions.EventConsentWidened:
		v.Title = "Allowed " + name + " more"
		if words := authn.Permissions(scopes("added")); len(words) > 0 {
			v.Detail = "to also " + lowerAll(words)
		}
	case sessions.EventConsentRemoved:
		v.Title = "Removed " + name + "'s access"
		switch n, _ := detail["signed_out"].(float64); {
		case n == 1:
			v.Detail = "and signed it out on 1 device"
		case n > 1:
			v.Detail = "and signed it out on " + strconv.Itoa(int(n)) + " devices"
		}
	}
}

// lowerAll joins permissions into one phrase: "see your name, see your
// email address".
func lowerAll(words []string) string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = strings.ToLower(w[:1]) + w[1:]
	}
	return strings.Join(out, ", ")
}

// requestPlace names the device and place a request came from, for an
// event that happened in no session: its User-Agent and its address.
func (h *Handler) requestPlace(e sessions.HistoryEvent) (device, place string) {
	if e.UserAgent != "" {
		device = sessions.DescribeUserAgent(e.UserAgent).Name
	}
	if e.IP != nil {
		if pl := h.Sessions.Locator.Locate(*e.IP); pl.Known() {
			place = pl.String()
		}
	}
	return device, place
}

// detailStrings reads a list of strings from an event's detail.
func detailStrings(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return slices.Clip(out)
}
