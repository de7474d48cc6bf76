package demoapp

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// login starts the authorization code flow with PKCE S256, state and nonce
// (OpenID Connect Core 1.0 §3.1.2.1, RFC 7636). prompt and max_age pass
// through, so a test or a person can ask latch for a fresh sign-in.
func (a *App) login(w http.ResponseWriter, r *http.Request) {
	p, ok := a.providerOrFail(w, r)
	if !ok {
		return
	}
	opts := []oauth2.AuthCodeOption{}
	q := r.URL.Query()
	if prompt := q.Get("prompt"); prompt != "" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", prompt))
	}
	if maxAge := q.Get("max_age"); maxAge != "" {
		if n, err := strconv.Atoi(maxAge); err != nil || n < 0 {
			a.fail(w, http.StatusBadRequest, "That sign-in link is not valid", "max_age must be a whole number of seconds.")
			return
		}
		opts = append(opts, oauth2.SetAuthURLParam("max_age", maxAge))
	}

	// One login cookie serves every tab: each sign-in in progress is keyed
	// by its own state and remembers the cookie value it must come back with.
	browser := ""
	if c, err := r.Cookie(a.loginName); err == nil && c.Value != "" {
		browser = c.Value
	} else {
		browser = randomToken()
	}
	state, nonce, verifier := randomToken(), randomToken(), oauth2.GenerateVerifier()

	a.mu.Lock()
	a.pruneLocked()
	full := len(a.pending) >= maxPending
	if !full {
		a.pending[state] = pendingLogin{browser: browser, nonce: nonce, verifier: verifier, expires: a.now().Add(pendingTTL)}
	}
	a.mu.Unlock()
	if full {
		a.fail(w, http.StatusServiceUnavailable, "Too many sign-ins in progress", "Wait a few minutes, then try again.")
		return
	}

	http.SetCookie(w, a.cookie(a.loginName, browser, int(pendingTTL/time.Second)))
	opts = append(opts, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
	http.Redirect(w, r, p.oauth.AuthCodeURL(state, opts...), http.StatusFound)
}

// callback finishes the flow: it checks state and issuer, redeems the code
// with the PKCE verifier, verifies the ID token and its nonce, and starts the
// local session.
func (a *App) callback(w http.ResponseWriter, r *http.Request) {
	p, ok := a.providerOrFail(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	pl, ok := a.takePending(r, q.Get("state"))
	if !ok {
		a.log.Warn("callback with an unknown, expired or foreign state")
		a.fail(w, http.StatusBadRequest, "This sign-in could not be finished",
			"It was started in another browser, took too long, or was already used. Start again.")
		return
	}
	// RFC 9207 §2.4: the iss parameter, when present, must be our issuer;
	// a provider that promises it must always send it. This stops a
	// mix-up attack where another provider's response is replayed here.
	if iss, sent := q["iss"]; sent && (len(iss) != 1 || iss[0] != a.cfg.Issuer) {
		a.log.Warn("callback from a different issuer", "iss", q.Get("iss"))
		a.fail(w, http.StatusBadRequest, "This sign-in could not be finished", "The answer came from a different sign-in service. Start again.")
		return
	} else if !sent && p.issParam {
		a.log.Warn("callback without the iss parameter the provider promised")
		a.fail(w, http.StatusBadRequest, "This sign-in could not be finished", "The answer did not say where it came from. Start again.")
		return
	}
	if code := q.Get("error"); code != "" {
		a.log.Info("authorization refused", "error", code, "description", q.Get("error_description"))
		a.fail(w, http.StatusUnauthorized, "You were not signed in", describeAuthError(code))
		return
	}
	code := q.Get("code")
	if code == "" {
		a.fail(w, http.StatusBadRequest, "This sign-in could not be finished", "The answer from latch had no code. Start again.")
		return
	}

	ctx := a.oauthContext(r.Context())
	tok, err := p.oauth.Exchange(ctx, code, oauth2.VerifierOption(pl.verifier))
	if err != nil {
		a.log.Warn("code exchange failed", "err", err)
		a.fail(w, http.StatusBadGateway, "This sign-in could not be finished", "latch did not accept the sign-in code. Start again.")
		return
	}
	s, err := a.verifyTokens(r, p, tok)
	if err == nil && subtle.ConstantTimeCompare([]byte(s.idNonce), []byte(pl.nonce)) != 1 {
		// The nonce ties the ID token to this browser's sign-in, so a token
		// captured elsewhere cannot be injected (OIDC Core §3.1.3.7 step 11).
		err = errors.New("nonce does not match")
	}
	if err != nil {
		a.log.Warn("ID token rejected", "err", err)
		a.fail(w, http.StatusBadGateway, "This sign-in could not be finished", "latch's answer could not be verified. Start again.")
		return
	}
	now := a.now()
	s.startedAt = now
	// The login cookie stays: other tabs may have sign-ins in progress
	// bound to it, and it expires with them.
	a.startSession(w, r, &s.session)
	a.log.Info("signed in", "sub", s.subject, "sid", s.sid)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// refresh redeems the refresh token. latch rotates it on every use and
// refuses it once the session has ended, so a refused refresh ends the local
// session too.
func (a *App) refresh(w http.ResponseWriter, r *http.Request) {
	// Refreshes run one at a time and read the session only once they hold
	// the lock: latch rotates refresh tokens and treats a reused one as
	// theft, so a double-click must not present the same token twice.
	a.refreshMu.Lock()
	defer a.refreshMu.Unlock()
	id, s := a.currentSession(r)
	if s == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	p, ok := a.providerOrFail(w, r)
	if !ok {
		return
	}
	if s.refreshToken == "" {
		a.fail(w, http.StatusConflict, "Nothing to refresh", "latch gave this app no refresh token. Sign out and in again.")
		return
	}
	// An empty access token makes the token source refresh at once.
	tok, err := p.oauth.TokenSource(a.oauthContext(r.Context()), &oauth2.Token{RefreshToken: s.refreshToken}).Token()
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
		a.log.Info("refresh refused; session ended", "sid", s.sid)
		a.mu.Lock()
		a.endSessionLocked(id, "latch refused to refresh your session: it has ended. Sign in again.")
		a.mu.Unlock()
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if err != nil {
		a.log.Warn("refresh failed", "err", err)
		a.fail(w, http.StatusBadGateway, "Could not refresh", "latch did not answer the refresh. Try again.")
		return
	}

	var fresh *verified
	if _, ok := tok.Extra("id_token").(string); ok {
		fresh, err = a.verifyTokens(r, p, tok)
		// OIDC Core §12.2: a refreshed ID token must name the same person.
		if err == nil && fresh.subject != s.subject {
			err = fmt.Errorf("subject changed from %q to %q", s.subject, fresh.subject)
		}
		if err != nil {
			a.log.Warn("refreshed ID token rejected", "err", err)
			a.fail(w, http.StatusBadGateway, "Could not refresh", "latch's answer could not be verified.")
			return
		}
	}

	a.mu.Lock()
	if cur, ok := a.sessions[id]; ok {
		if fresh != nil {
			cur.name, cur.email, cur.amr, cur.authTime = fresh.name, fresh.email, fresh.amr, fresh.authTime
			cur.idToken, cur.idExpiry = fresh.idToken, fresh.idExpiry
		}
		if tok.RefreshToken != "" {
			cur.refreshToken = tok.RefreshToken
		}
		cur.accessToken, cur.accessExpiry = tok.AccessToken, tok.Expiry
		cur.refreshedAt = a.now()
	}
	a.mu.Unlock()
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// verified is a session built from a token response, with the nonce the ID
// token carried.
type verified struct {
	session
	idNonce string
}

// verifyTokens verifies the ID token in a token response and reads the
// claims the app shows.
func (a *App) verifyTokens(r *http.Request, p *provider, tok *oauth2.Token) (*verified, error) {
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return nil, errors.New("token response has no id_token")
	}
	idt, err := p.verifier.Verify(a.oauthContext(r.Context()), raw)
	if err != nil {
		return nil, err
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return nil, err
		}
	}
	var c struct {
		AZP      string   `json:"azp"`
		SID      string   `json:"sid"`
		Name     string   `json:"name"`
		Email    string   `json:"email"`
		AMR      []string `json:"amr"`
		AuthTime float64  `json:"auth_time"`
	}
	if err := idt.Claims(&c); err != nil {
		return nil, err
	}
	// OIDC Core §3.1.3.7 steps 4–5: go-oidc checks that we are an audience;
	// when there are others, azp must say the token was issued to us.
	if (len(idt.Audience) > 1 || c.AZP != "") && c.AZP != a.cfg.ClientID {
		return nil, fmt.Errorf("ID token azp %q is not this client", c.AZP)
	}
	v := &verified{
		session: session{
			subject:      idt.Subject,
			sid:          c.SID,
			name:         c.Name,
			email:        c.Email,
			amr:          c.AMR,
			idToken:      raw,
			idExpiry:     idt.Expiry,
			refreshToken: tok.RefreshToken,
			accessToken:  tok.AccessToken,
			accessExpiry: tok.Expiry,
		},
		idNonce: idt.Nonce,
	}
	if c.AuthTime > 0 {
		v.authTime = time.Unix(int64(c.AuthTime), 0)
	}
	return v, nil
}

// describeAuthError turns an OAuth error code from the authorization
// endpoint into a sentence (OIDC Core §3.1.2.6, RFC 6749 §4.1.2.1).
func describeAuthError(code string) string {
	switch code {
	case "access_denied":
		return "The sign-in was cancelled or refused."
	case "login_required", "interaction_required", "account_selection_required", "consent_required":
		return "latch needs you to sign in there first."
	case "temporarily_unavailable", "server_error":
		return "latch could not sign you in just now. Try again in a moment."
	}
	return "latch answered with the error " + strconv.Quote(code) + "."
}
