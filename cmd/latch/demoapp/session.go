package demoapp

import (
	"crypto/subtle"
	"net/http"
	"time"
)

// session is one person signed in to the app in one browser.
type session struct {
	subject  string
	sid      string // latch's device session; back-channel logout names it
	name     string
	email    string
	amr      []string
	authTime time.Time // when the person last authenticated at latch

	idToken      string // the latest raw ID token, sent back as id_token_hint
	idExpiry     time.Time
	refreshToken string
	accessToken  string // exchanged when the person starts an agent
	accessExpiry time.Time
	agent        *agentState // the agent started from here, if any; replaced, never changed

	startedAt   time.Time // when this app session began
	refreshedAt time.Time // zero until the first refresh
}

// pendingLogin is a sign-in between /login and /callback.
type pendingLogin struct {
	browser  string // the login cookie value that must come back with the code
	nonce    string
	verifier string // PKCE code_verifier
	expires  time.Time
}

// endedSession remembers why a session ended, so the next page can say so.
type endedSession struct {
	reason  string
	expires time.Time
}

// currentSession returns the cookie value and a copy of the session it
// names. The copy lets handlers read it without holding the lock.
func (a *App) currentSession(r *http.Request) (string, *session) {
	c, err := r.Cookie(a.sessionName)
	if err != nil || c.Value == "" {
		return "", nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.sessions[c.Value]
	if !ok {
		return c.Value, nil
	}
	cp := *s
	return c.Value, &cp
}

// startSession stores s under a fresh random ID and sets the cookie. Any
// session the browser already had is dropped, so a sign-in never inherits
// an older identity.
func (a *App) startSession(w http.ResponseWriter, r *http.Request, s *session) {
	id := randomToken()
	a.mu.Lock()
	if c, err := r.Cookie(a.sessionName); err == nil {
		delete(a.sessions, c.Value)
		delete(a.ended, c.Value)
	}
	a.sessions[id] = s
	a.mu.Unlock()
	http.SetCookie(w, a.cookie(a.sessionName, id, 0))
}

// endSessionLocked drops a session and remembers why, for the page that
// follows. Callers hold a.mu.
func (a *App) endSessionLocked(id, reason string) {
	delete(a.sessions, id)
	if reason != "" {
		a.ended[id] = endedSession{reason: reason, expires: a.now().Add(endedTTL)}
	}
}

// takeEnded returns and forgets the reason the browser's session ended.
func (a *App) takeEnded(id string) string {
	if id == "" {
		return ""
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.ended[id]
	if !ok || a.now().After(e.expires) {
		return ""
	}
	delete(a.ended, id)
	return e.reason
}

// takePending returns and forgets the sign-in that state names, provided the
// same browser started it and it has not expired. Single use: a replayed
// callback finds nothing.
func (a *App) takePending(r *http.Request, state string) (pendingLogin, bool) {
	if state == "" {
		return pendingLogin{}, false
	}
	a.mu.Lock()
	p, ok := a.pending[state]
	delete(a.pending, state)
	a.mu.Unlock()
	if !ok || a.now().After(p.expires) {
		return pendingLogin{}, false
	}
	// The state alone is not enough: it travels in a URL. Binding it to a
	// cookie stops an attacker from finishing their own sign-in in the
	// victim's browser (login CSRF, RFC 6749 §10.12).
	c, err := r.Cookie(a.loginName)
	if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(p.browser)) != 1 {
		return pendingLogin{}, false
	}
	return p, true
}

// pruneLocked drops expired records. Callers hold a.mu. It runs whenever a
// record is added, which keeps every map bounded by its lifetime.
func (a *App) pruneLocked() {
	now := a.now()
	for k, p := range a.pending {
		if now.After(p.expires) {
			delete(a.pending, k)
		}
	}
	for k, exp := range a.logoutStates {
		if now.After(exp) {
			delete(a.logoutStates, k)
		}
	}
	for k, e := range a.ended {
		if now.After(e.expires) {
			delete(a.ended, k)
		}
	}
	for k, exp := range a.seenJTI {
		if now.After(exp) {
			delete(a.seenJTI, k)
		}
	}
}

// cookie builds one of the app's cookies. maxAge 0 makes a browser-session
// cookie and a negative maxAge deletes it. HttpOnly keeps session IDs away
// from scripts; SameSite=Lax still lets the provider's top-level redirect
// back to /callback carry the login cookie.
func (a *App) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   a.secure,
		SameSite: http.SameSiteLaxMode,
	}
}
