package demoapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Agent is an agent the app may start for the signed-in person: the app
// exchanges the person's access token at latch's token endpoint (OAuth 2.0
// Token Exchange, RFC 8693) for a token of the agent's own, which says
// who the person is (sub) and who acts for them (act). latch must list the
// app in the agent's started_by.
type Agent struct {
	ClientID string   // "codex-task-runner"
	Name     string   // "Codex task runner"
	Scopes   []string // asked for at sign-in, and handed on to the agent
	Note     string   // where the agent runs, as latch will show it; may be ""
}

// RFC 8693 §2.1 and §3.
const (
	grantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeAccess    = "urn:ietf:params:oauth:token-type:access_token"
)

// agentState is the agent the person started from this app, as the app
// holds it: a demo keeps the agent's token itself to show it.
type agentState struct {
	token     string
	claims    string // the verified token's claims, indented JSON
	startedAt time.Time
	expiry    time.Time
	check     string // what the last introspection said
	checkOK   bool
}

// agentView is the agent's card on the page.
type agentView struct {
	Name, ClientID string
	Started        bool
	StartedAt      time.Time
	Expiry         time.Time
	Claims         string
	Check          string
	CheckOK        bool
}

// tokenAnswer is a token or introspection endpoint's JSON.
type tokenAnswer struct {
	AccessToken string  `json:"access_token"`
	ExpiresIn   float64 `json:"expires_in"`
	Error       string  `json:"error"`
	Description string  `json:"error_description"`
	Active      bool    `json:"active"`
	Act         *struct {
		Sub string `json:"sub"`
	} `json:"act"`
}

// postForm sends a form to one of latch's endpoints with the app's own
// credentials (HTTP Basic, form-encoded as RFC 6749 §2.3.1 asks).
func (a *App) postForm(ctx context.Context, endpoint string, form url.Values) (*tokenAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(a.cfg.ClientID), url.QueryEscape(a.cfg.ClientSecret))
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out tokenAnswer
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&out); err != nil {
		return nil, fmt.Errorf("%s answered %s", endpoint, resp.Status)
	}
	if out.Error == "" && resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %s", endpoint, resp.Status)
	}
	return &out, nil
}

// personToken returns the person's access token, refreshed first when it
// is about to expire.
func (a *App) personToken(ctx context.Context, p *provider, id string) (string, error) {
	a.refreshMu.Lock()
	defer a.refreshMu.Unlock()
	a.mu.Lock()
	s, ok := a.sessions[id]
	var access, refresh string
	var expiry time.Time
	if ok {
		access, refresh, expiry = s.accessToken, s.refreshToken, s.accessExpiry
	}
	a.mu.Unlock()
	if !ok {
		return "", errors.New("signed out")
	}
	if access != "" && a.now().Add(30*time.Second).Before(expiry) || refresh == "" {
		return access, nil
	}
	tok, err := p.oauth.TokenSource(a.oauthContext(ctx), &oauth2.Token{RefreshToken: refresh}).Token()
	if err != nil {
		return "", err
	}
	a.mu.Lock()
	if cur, ok := a.sessions[id]; ok {
		cur.accessToken, cur.accessExpiry, cur.refreshedAt = tok.AccessToken, tok.Expiry, a.now()
		if tok.RefreshToken != "" {
			cur.refreshToken = tok.RefreshToken
		}
	}
	a.mu.Unlock()
	return tok.AccessToken, nil
}

// startAgent exchanges the person's access token for the agent's (RFC
// 8693), verifies the agent's token against latch's keys as any service
// the agent calls would, and shows its claims.
func (a *App) startAgent(w http.ResponseWriter, r *http.Request) {
	ag := a.cfg.Agent
	id, s := a.currentSession(r)
	if ag == nil || s == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	p, ok := a.providerOrFail(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	subject, err := a.personToken(ctx, p, id)
	if err != nil {
		a.log.Warn("no access token to exchange", "err", err)
		a.fail(w, http.StatusBadGateway, "Could not start "+ag.Name, "Your sign-in could not be refreshed. Sign in again.")
		return
	}
	form := url.Values{"grant_type": {grantTokenExchange}, "subject_token": {subject}, "subject_token_type": {tokenTypeAccess},
		"audience": {ag.ClientID}}
	if ag.Note != "" {
		form.Set("note", ag.Note)
	}
	ans, err := a.postForm(ctx, p.oauth.Endpoint.TokenURL, form)
	if err == nil && ans.Error != "" {
		err = fmt.Errorf("%s: %s", ans.Error, ans.Description)
	}
	if err != nil {
		a.log.Warn("token exchange refused", "err", err)
		a.fail(w, http.StatusBadGateway, "Could not start "+ag.Name, "latch refused to start the agent ("+err.Error()+").")
		return
	}
	tok, err := p.oidc.Verifier(&oidc.Config{ClientID: ag.ClientID, Now: a.now}).Verify(a.oauthContext(ctx), ans.AccessToken)
	var claims map[string]any
	if err == nil {
		err = tok.Claims(&claims)
	}
	if err != nil {
		a.log.Warn("the agent's token does not verify", "err", err)
		a.fail(w, http.StatusBadGateway, "Could not start "+ag.Name, "latch's answer could not be verified.")
		return
	}
	pretty, _ := json.MarshalIndent(claims, "", "  ")
	now := a.now()
	a.mu.Lock()
	if cur, ok := a.sessions[id]; ok {
		cur.agent = &agentState{token: ans.AccessToken, claims: string(pretty), startedAt: now,
			expiry: now.Add(time.Duration(ans.ExpiresIn) * time.Second)}
	}
	a.mu.Unlock()
	a.log.Info("agent started", "agent", ag.ClientID, "sid", s.sid)
	http.Redirect(w, r, "/#agent", http.StatusSeeOther)
}

// checkAgent asks latch's introspection endpoint whether the agent's token
// still works and who acts with it: once the person stops the agent on
// latch's sessions page, or signs out of the device, it no longer does.
func (a *App) checkAgent(w http.ResponseWriter, r *http.Request) {
	id, s := a.currentSession(r)
	if a.cfg.Agent == nil || s == nil || s.agent == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	p, ok := a.providerOrFail(w, r)
	if !ok {
		return
	}
	ans, err := a.postForm(r.Context(), p.introspection, url.Values{"token": {s.agent.token}})
	check, good := "", false
	switch {
	case err != nil || ans.Error != "":
		a.log.Warn("introspection failed", "err", err)
		check = "latch could not be asked just now. Try again."
	case ans.Active && ans.Act != nil:
		check, good = "Active: latch says "+ans.Act.Sub+" acts for you with this token.", true
	case ans.Active:
		check = "Active, but latch names no actor."
	default:
		check = "Not active: the agent was stopped, its session ended, or its token expired."
	}
	a.mu.Lock()
	if cur, ok := a.sessions[id]; ok && cur.agent != nil {
		// A new state rather than a change: pages read copies of it
		// without the lock.
		st := *cur.agent
		st.check, st.checkOK = check, good
		cur.agent = &st
	}
	a.mu.Unlock()
	http.Redirect(w, r, "/#agent", http.StatusSeeOther)
}

// agentCard is the page's view of the agent for session s.
func (a *App) agentCard(s *session) *agentView {
	ag := a.cfg.Agent
	if ag == nil {
		return nil
	}
	v := &agentView{Name: ag.Name, ClientID: ag.ClientID}
	if st := s.agent; st != nil {
		v.Started, v.StartedAt, v.Expiry, v.Claims, v.Check, v.CheckOK = true, st.startedAt, st.expiry, st.claims, st.check, st.checkOK
	}
	return v
}
