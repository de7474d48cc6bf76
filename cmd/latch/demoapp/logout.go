package demoapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
)

// backchannelEvent is the member a logout token's events claim must hold
// (OpenID Connect Back-Channel Logout 1.0 §2.4).
const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// logout forgets the local session, then sends the browser to latch's
// end_session_endpoint (OpenID Connect RP-Initiated Logout 1.0 §2) so the
// device session ends too. The ID token goes along as id_token_hint, which
// lets latch end the right session without asking the person to confirm.
func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	id, s := a.currentSession(r)
	state := randomToken()
	a.mu.Lock()
	a.pruneLocked()
	if id != "" {
		a.endSessionLocked(id, "")
		delete(a.ended, id)
	}
	a.logoutStates[state] = a.now().Add(pendingTTL)
	a.mu.Unlock()
	http.SetCookie(w, a.cookie(a.sessionName, "", -1))

	p, err := a.discover(r.Context())
	if err != nil || p.endSession == "" {
		a.log.Warn("cannot reach the end_session_endpoint; signed out locally only", "err", err)
		http.Redirect(w, r, "/?signed_out=local", http.StatusSeeOther)
		return
	}
	u, err := url.Parse(p.endSession)
	if err != nil {
		a.log.Warn("bad end_session_endpoint", "err", err)
		http.Redirect(w, r, "/?signed_out=local", http.StatusSeeOther)
		return
	}
	v := u.Query()
	if s != nil && s.idToken != "" {
		v.Set("id_token_hint", s.idToken)
	}
	v.Set("client_id", a.cfg.ClientID)
	v.Set("post_logout_redirect_uri", a.cfg.BaseURL+"/")
	v.Set("state", state)
	u.RawQuery = v.Encode()
	if s != nil {
		a.log.Info("signing out", "sub", s.subject, "sid", s.sid)
	}
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// backchannelLogout receives a logout token from latch and drops the local
// sessions it names (OpenID Connect Back-Channel Logout 1.0 §2.5–§2.8).
func (a *App) backchannelLogout(w http.ResponseWriter, r *http.Request) {
	// §2.8: the response must not be cached, whatever it says.
	w.Header().Set("Cache-Control", "no-store")

	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		a.backchannelError(w, "the request body is not a form", err)
		return
	}
	raw := r.PostForm.Get("logout_token")
	if raw == "" {
		a.backchannelError(w, "logout_token is missing", nil)
		return
	}
	p, err := a.discover(r.Context())
	if err != nil {
		// Without latch's keys the token cannot be checked either way; a
		// 503 tells the sender to try again rather than give up.
		a.log.Warn("back-channel logout before discovery succeeded", "err", err)
		w.Header().Set("Retry-After", "2")
		http.Error(w, "the provider's keys are not available yet", http.StatusServiceUnavailable)
		return
	}

	// §2.6 steps 1–7. VerifyLogout checks the signature against latch's
	// JWKS, iss, aud (our client ID), exp, that the events claim names
	// back-channel logout, that sub or sid is present, that jti is
	// present, and that there is no nonce, which keeps an ID token from
	// being replayed as a logout token.
	lt, err := p.verifier.VerifyLogout(r.Context(), raw)
	if err != nil {
		a.backchannelError(w, "logout token is not valid", err)
		return
	}
	// §2.4 says the event's value is a JSON object; go-oidc only checks
	// that the member exists.
	var claims struct {
		Events map[string]json.RawMessage `json:"events"`
	}
	if err := lt.Claims(&claims); err != nil || !isJSONObject(claims.Events[backchannelEvent]) {
		a.backchannelError(w, "logout token events claim is not valid", errors.New("event value is not a JSON object"))
		return
	}

	a.mu.Lock()
	a.pruneLocked()
	// §2.6 allows refusing a jti seen before. A replay is answered as a
	// success, because latch may resend after losing our first answer, but it
	// does nothing more: a sub-only token replayed later must not end a
	// session the person started after the logout.
	replay := false
	key := lt.Issuer + "\x00" + lt.TokenID
	if _, seen := a.seenJTI[key]; seen {
		replay = true
	} else {
		a.seenJTI[key] = lt.Expiry
	}
	dropped := 0
	if !replay {
		for id, s := range a.sessions {
			// §2.7: a sid names one latch session; without one, the token
			// means every session of that subject.
			var match bool
			if lt.SessionID != "" {
				match = s.sid == lt.SessionID && (lt.Subject == "" || s.subject == lt.Subject)
			} else {
				match = s.subject == lt.Subject
			}
			if match {
				a.endSessionLocked(id, "latch ended this session. Sign in again to continue.")
				dropped++
			}
		}
		if lt.SessionID != "" {
			a.loggedOut = append(a.loggedOut, lt.SessionID)
			if len(a.loggedOut) > maxLoggedOut {
				a.loggedOut = a.loggedOut[len(a.loggedOut)-maxLoggedOut:]
			}
		}
	}
	a.mu.Unlock()

	a.log.Info("back-channel logout", "sid", lt.SessionID, "sub", lt.Subject, "jti", lt.TokenID, "dropped", dropped, "replay", replay)
	w.WriteHeader(http.StatusOK)
}

// backchannelError answers 400 with an OAuth-style error body (§2.8) and
// logs the detail.
func (a *App) backchannelError(w http.ResponseWriter, description string, err error) {
	a.log.Warn("back-channel logout refused", "reason", description, "err", err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request", "error_description": description})
}

func isJSONObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{' && json.Valid(raw)
}
