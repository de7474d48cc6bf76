package account

import (
	"net/http"

	"latch/internal/web"
	"latch/sessions"
	"latch/templates"
)

// eventWords says what each kind of history event was, for people, and
// which icon family it belongs to.
var eventWords = map[string]struct{ kind, title string }{
	"signin":                {"signin", "Signed in"},
	"new_device":            {"new_device", "Signed in on a new device"},
	"signin_failed":         {"lock", "Failed sign-in"},
	"signin_throttled":      {"lock", "Sign-ins from unknown devices slowed down after failed attempts"},
	"account_locked":        {"lock", "Password sign-in locked after too many wrong second-factor codes"},
	"session_ended":         {"ended", "Session ended"},
	"app_session_ended":     {"ended", "Signed out of an app"},
	"reported_not_me":       {"ended", "Session reported as not you"},
	"passkey_added":         {"credential", "Passkey added"},
	"passkey_rename":        {"credential", "Passkey renamed"},
	"passkey_remove":        {"credential", "Passkey removed"},
	"passkey_clone_refused": {"lock", "A copied passkey was refused"},
	"passkey_suspended":     {"lock", "Passkey suspended as a possible copy"},
	"passkey_reinstated":    {"credential", "Suspended passkey confirmed as yours"},
	"totp_added":            {"credential", "Authenticator app turned on"},
	"totp_remove":           {"credential", "Authenticator app removed"},
	"recovery_generate":     {"credential", "New recovery keys generated"},
	"recovery_key_used":     {"recovery", "Recovery key used"},
	"password_set":          {"credential", "Password changed"},
	"password_remove":       {"credential", "Password removed"},
	"step_up":               {"other", "Confirmed it was you"},
	"device_untrusted":      {"credential", "Stopped trusting a device"},
	"consent_granted":       {"credential", "Allowed an app"},
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
			words = struct{ kind, title string }{"other", e.Kind}
		}
		v := templates.EventView{At: e.At, Kind: words.kind, Title: words.title, Device: e.Device, Location: e.Place}
		if e.IP != nil {
			v.IP = e.IP.String()
		}
		switch e.Kind {
		case "signin", "new_device", "signin_failed":
			if m, _ := e.Detail["method"].(string); m != "" {
				v.Detail = "with " + sessions.Method(m).Phrase()
			}
		case "session_ended", "app_session_ended":
			if rs, _ := e.Detail["reason"].(string); reasons[rs] != "" {
				v.Detail = reasons[rs]
			}
		case "passkey_added", "passkey_rename", "passkey_remove", "passkey_clone_refused", "passkey_suspended", "passkey_reinstated":
			if n, _ := e.Detail["name"].(string); n != "" {
				v.Detail = "“" + n + "”"
			}
		}
		p.Events = append(p.Events, v)
	}
	h.Pages.Render(w, http.StatusOK, templates.Activity.With(p))
}
