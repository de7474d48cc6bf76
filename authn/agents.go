package authn

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latch-idp/latch/internal/notify"
	"github.com/latch-idp/latch/sessions"
)

// AgentStart is an agent that started acting for a person (idp's token
// exchange), as the alert tells it.
type AgentStart struct {
	AccountID string
	Device    *sessions.Device // the device session it was started from
	Agent     string           // the agent's name: "Codex task runner"
	StartedBy string           // the app that started it: "ChatGPT"
	Scopes    []string         // what it may do, in words
	Note      string           // where it runs, as the app reported it
	At        time.Time
}

// AgentStartedTx announces an agent's start inside tx, the exchange's
// transaction: an advanced account is alerted of every agent that starts
// acting for it, as of every sign-in, since an agent holds the same kind
// of power over the account's apps. The start itself is in the history
// already (sessions.Store.StartAgentTx).
func (h *Handler) AgentStartedTx(ctx context.Context, tx pgx.Tx, a AgentStart) error {
	if !h.Notify {
		return nil
	}
	acct, err := h.Accounts.ByIDTx(ctx, tx, a.AccountID)
	if errors.Is(err, ErrNoAccount) || err == nil && !acct.Advanced() {
		return nil
	}
	if err != nil {
		return err
	}
	// Named as on the sessions page: a command-line session by its own
	// name, which names the app ("Codex CLI on ada-laptop · Linux"), a
	// browser by the starting app and the device.
	from := sessions.StartedFrom(a.StartedBy, "", "", "")
	if a.Device != nil {
		named := map[string]sessions.NamedSession{}
		if h.Sessions != nil {
			if named, err = h.Sessions.NamedTx(ctx, tx, a.AccountID, []string{a.Device.ID}); err != nil {
				return err
			}
		}
		n, ok := named[a.Device.ID]
		if !ok {
			n.Name = sessions.DescribeUserAgent(a.Device.UserAgent).Name
		}
		from = sessions.StartedFrom(a.StartedBy, a.Device.Kind, n.Name, n.CustomName)
	}
	facts := [][2]string{{"Agent", a.Agent}, {"Started from", from}}
	if a.Device != nil && h.Sessions != nil {
		if p := h.Sessions.Locator.Locate(a.Device.IP); p.Known() {
			facts = append(facts, [2]string{"Where", p.String()})
		}
	}
	if len(a.Scopes) > 0 {
		facts = append(facts, [2]string{"It may", strings.Join(a.Scopes, ", ")})
	}
	if a.Note != "" {
		facts = append(facts, [2]string{"Runs on", a.Note + " (as " + a.StartedBy + " reports it)"})
	}
	facts = append(facts, [2]string{"When", when(a.At)})
	return h.alert(ctx, tx, acct, alertDraft{Subject: "An agent is acting for you: " + a.Agent, Alert: notify.Alert{
		Heading: a.Agent + " is acting for you",
		Lines: []string{a.StartedBy + " started " + a.Agent + " to act for you. It can do what is listed below until you stop it, " +
			"or until you sign out of " + from + "."},
		Facts:  facts,
		Action: "Review your sessions", URL: h.link("/account/sessions#agents"),
		Footer: "If you didn't start this, stop the agent on your sessions page and end the session it was started from.",
	}})
}
