package account

import (
	"net/http"

	"latch/internal/web"
	"latch/sessions"
	"latch/templates"
)

// eventWords says what each kind of history event was, for people, and
// which icon family it belongs to.
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
	sessions.EventConsentGranted:      {"credential", "Allowed an app"},
	sessions.EventDeviceApproved:      {"new_device", "Signed in a command-line app"},
	sessions.EventDeviceDenied:        {"ended", "Refused a command-line sign-in"},
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
	p := templates.ActivityPage{Base: base, Name: name}
	for _, e := range events {
		words, ok := eventWords[e.Kind]
		if !ok {
			words = struct{ kind, title string }{"other", string(e.Kind)}
		}
		v := templates.EventView{At: e.At, Kind: words.kind, Title: words.title, Device: e.Device, Location: e.Place}
		if e.IP != nil {
			v.IP = e.IP.String()
		}
		switch e.Kind {
		case sessions.EventSignIn, sessions.EventNewDevice, sessions.EventSignInFailed:
			if m, _ := e.Detail["method"].(string); m != "" {
				v.Detail = "with " + sessions.Method(m).Phrase()
			}
		case sessions.EventDeviceApproved, sessions.EventDeviceDenied:
			if n, _ := e.Detail["name"].(string); n != "" {
				v.Detail = n
			}
		case sessions.EventSessionEnded, sessions.EventAppSessionEnded:
			if rs, _ := e.Detail["reason"].(string); reasons[sessions.EndReason(rs)] != "" {
				v.Detail = reasons[sessions.EndReason(rs)]
			}
		case sessions.EventPasskeyAdded, sessions.EventPasskeyRenamed, sessions.EventPasskeyRemoved, sessions.EventPasskeyCloneRefused,
			sessions.EventPasskeySuspended, sessions.EventPasskeyReinstated:
			if n, _ := e.Detail["name"].(string); n != "" {
				v.Detail = "“" + n + "”"
			}
		}
		p.Events = append(p.Events, v)
	}
	h.Pages.Render(w, http.StatusOK, templates.Activity.With(p))
}
