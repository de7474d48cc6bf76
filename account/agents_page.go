package account

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/latch-idp/latch/sessions"
	"github.com/latch-idp/latch/templates"
)

// The agents acting for the person on the sessions page ("Agents acting
// for you") and in the JSON API, beside the device sessions they were
// started from. Stopping an agent, like ending a session, never asks for
// a step-up.

// agentRoutes registers the agents' page forms and JSON API.
func (h *Handler) agentRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /account/agents/{id}/end", h.endAgent)
	mux.HandleFunc("POST /account/agents/end", h.endAgents)
	mux.HandleFunc("GET /api/account/agents", h.apiAgents)
	mux.HandleFunc("POST /api/account/agents/{id}/end", h.apiEndAgent)
	mux.HandleFunc("POST /api/account/agents/end", h.apiEndAgents)
}

// agentView puts an agent in plain words. self is the caller's own device
// session.
func (h *Handler) agentView(g sessions.AgentRecord, self string) templates.AgentView {
	v := templates.AgentView{ID: g.ID, Name: h.AppName(g.AgentID), StartedBy: h.AppName(g.StartedBy),
		Device: g.DeviceName, DeviceKind: g.DeviceKind, Location: placeOrUnknown(g.Place), ThisDevice: g.DeviceID == self,
		Note: g.Note, StartedAt: g.StartedAt, LastActedAt: g.LastActedAt}
	if v.Device == "" {
		v.Device, v.DeviceKind = "an unknown device", "unknown"
	}
	v.From = sessions.StartedFrom(v.StartedBy, g.SessionKind, g.DeviceName, g.CustomName)
	if h.ScopeWords != nil {
		v.May = joinWords(h.ScopeWords(g.AgentID, g.Scopes))
	}
	return v
}

// joinWords makes "a", "a and b", "a, b and c".
func joinWords(w []string) string {
	switch len(w) {
	case 0:
		return ""
	case 1:
		return w[0]
	}
	return strings.Join(w[:len(w)-1], ", ") + " and " + w[len(w)-1]
}

// agentViews lists the account's agents for the page, and hands each
// device its own.
func (h *Handler) agentViews(ctx context.Context, accountID, self string, devices []templates.DeviceView) ([]templates.AgentView, error) {
	agents, err := h.Sessions.Agents(ctx, accountID)
	if err != nil {
		return nil, err
	}
	var out []templates.AgentView
	for _, g := range agents {
		v := h.agentView(g, self)
		out = append(out, v)
		for i := range devices {
			if devices[i].ID == g.DeviceID {
				devices[i].Agents = append(devices[i].Agents, v)
			}
		}
	}
	return out, nil
}

func (h *Handler) endAgent(w http.ResponseWriter, r *http.Request) {
	d, ok := h.form(w, r)
	if !ok {
		return
	}
	err := h.Sessions.EndAgent(context.WithoutCancel(r.Context()), d.AccountID, r.PathValue("id"), sessions.ReasonStopped)
	if errors.Is(err, sessions.ErrNotYours) {
		h.backWith(w, r, note{Code: noteAgentGone})
		return
	}
	if err != nil {
		h.failSessions(w, r, err)
		return
	}
	h.backWith(w, r, note{Code: noteAgentStopped})
}

func (h *Handler) endAgents(w http.ResponseWriter, r *http.Request) {
	d, ok := h.form(w, r)
	if !ok {
		return
	}
	n, err := h.Sessions.EndAgents(context.WithoutCancel(r.Context()), d.AccountID, sessions.ReasonStopped)
	if err != nil {
		h.failSessions(w, r, err)
		return
	}
	h.backWith(w, r, note{Code: noteAgentsStopped, More: n})
}

// The notes the agents' forms leave for the sessions page (sessions_words.go).
const (
	noteAgentStopped  = "agent_stopped"  // one agent stopped
	noteAgentsStopped = "agents_stopped" // every agent stopped: More of them
	noteAgentGone     = "agent_gone"     // the agent had stopped already
)

// agentNoteWords puts an agents' note into p's flash or error.
func agentNoteWords(n note, p *templates.SessionsPage) {
	switch n.Code {
	case noteAgentStopped:
		p.Flash = "Agent stopped. Its access ended everywhere."
	case noteAgentsStopped:
		if n.More == 1 {
			p.Flash = "Agent stopped. Its access ended everywhere."
			break
		}
		p.Flash = fmt.Sprintf("Stopped %d agents. Their access ended everywhere.", n.More)
	case noteAgentGone:
		p.Error = "That agent had already stopped."
	}
}

// APIAgent is one agent in the JSON API.
type APIAgent struct {
	ID          string      `json:"id"`
	ClientID    string      `json:"client_id"`
	Name        string      `json:"name"`
	SessionID   string      `json:"session_id"` // the device session it was started from
	Device      string      `json:"device"`
	StartedBy   APIAgentApp `json:"started_by"`
	Scopes      []string    `json:"scopes"`
	May         string      `json:"may"`
	Note        string      `json:"note,omitempty"`
	StartedAt   time.Time   `json:"started_at"`
	LastActedAt time.Time   `json:"last_acted_at"`
	ExpiresAt   time.Time   `json:"expires_at"`
	Summary     string      `json:"summary"`
}

// APIAgentApp is the app that started an agent.
type APIAgentApp struct {
	ClientID string `json:"client_id"`
	Name     string `json:"name"`
}

// summary is an agent's plain-words line, as the page shows it. An app
// calling the API may be anywhere, so the time is UTC's, and says so:
// "since 09:12 UTC" today, "since 3 Dec 2026, 09:12 UTC" before.
func summary(v templates.AgentView, now time.Time) string {
	since := v.StartedAt.UTC().Format("15:04 UTC")
	if v.StartedAt.UTC().Format(time.DateOnly) != now.UTC().Format(time.DateOnly) {
		since = v.StartedAt.UTC().Format("2 Jan 2006, 15:04 UTC")
	}
	s := v.Name + " — acting for you since " + since + ", started from " + v.From
	if v.May != "" {
		s += ", may " + v.May
	}
	return s
}

func (h *Handler) apiAgents(w http.ResponseWriter, r *http.Request) {
	acct, self, ok := h.apiCaller(w, r, false)
	if !ok {
		return
	}
	agents, err := h.Sessions.Agents(r.Context(), acct)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	out := []APIAgent{}
	for _, g := range agents {
		v := h.agentView(g, self)
		out = append(out, APIAgent{ID: g.ID, ClientID: g.AgentID, Name: v.Name, SessionID: g.DeviceID, Device: v.Device,
			StartedBy: APIAgentApp{ClientID: g.StartedBy, Name: v.StartedBy}, Scopes: g.Scopes, May: v.May, Note: g.Note,
			StartedAt: g.StartedAt, LastActedAt: g.LastActedAt, ExpiresAt: g.ExpiresAt, Summary: summary(v, h.Now())})
	}
	apiJSON(w, map[string]any{"agents": out})
}

func (h *Handler) apiEndAgent(w http.ResponseWriter, r *http.Request) {
	acct, _, ok := h.apiCaller(w, r, true)
	if !ok {
		return
	}
	err := h.Sessions.EndAgent(context.WithoutCancel(r.Context()), acct, r.PathValue("id"), sessions.ReasonStopped)
	if errors.Is(err, sessions.ErrNotYours) {
		apiError(w, http.StatusNotFound, "not_found", "no such agent")
		return
	}
	h.apiEnded(w, r, 1, err)
}

func (h *Handler) apiEndAgents(w http.ResponseWriter, r *http.Request) {
	acct, _, ok := h.apiCaller(w, r, true)
	if !ok {
		return
	}
	n, err := h.Sessions.EndAgents(context.WithoutCancel(r.Context()), acct, sessions.ReasonStopped)
	h.apiEnded(w, r, n, err)
}
