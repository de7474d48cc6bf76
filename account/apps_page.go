package account

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latch-idp/latch/authn"
	"github.com/latch-idp/latch/internal/web"
	"github.com/latch-idp/latch/sessions"
	"github.com/latch-idp/latch/templates"
)

// Connected apps: the apps that are not latch's own (first_party: false)
// and hold the person's consent, on /account/apps and in the JSON API
// (/api/account/apps), with the sessions API's authentication and its
// 404 for what is not the caller's. Removing one is one transaction over
// three owners (removeApp): authn withdraws the consent, sessions ends the
// app's sessions with their back-channel logouts, idp revokes its tokens;
// the activity record and the alert commit with them, and the next
// authorization asks the person again.

// ThirdPartyApps is what the connected apps page needs of the identity
// provider; idp.Provider implements it.
type ThirdPartyApps interface {
	// ThirdPartyApp names a registered client that is not latch's own;
	// ok is false for a first-party or unknown client.
	ThirdPartyApp(clientID string) (name string, ok bool)
	// RevokeAppTx revokes, inside tx, the client's tokens of the given
	// app sessions of the account and announces them to every replica;
	// it returns what this replica must Forget once tx has committed.
	RevokeAppTx(ctx context.Context, tx pgx.Tx, accountID, clientID string, appSessionIDs []string) ([]string, error)
}

func (h *Handler) appsRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /account/apps", h.appsPage)
	mux.HandleFunc("GET /account/apps/{client}/remove", h.appsConfirm)
	mux.HandleFunc("POST /account/apps/{client}/remove", h.appsRemove)
	mux.HandleFunc("GET /api/account/apps", h.apiApps)
	mux.HandleFunc("POST /api/account/apps/{client}/remove", h.apiAppsRemove)
}

// connectedApp is one connected app: its consent, its name and what the
// sessions say of its use.
type connectedApp struct {
	authn.Consent
	Name string
	sessions.ClientUse
}

// connected returns the account's connected apps, the most recently
// allowed first. A consent of a client no longer registered, or now
// registered as first-party, is not one: it lets nothing through.
func (h *Handler) connected(ctx context.Context, accountID string) ([]connectedApp, error) {
	if !sessions.IsID(accountID) {
		return nil, nil
	}
	consents, err := h.Accounts.Consents(ctx, accountID)
	if err != nil {
		return nil, err
	}
	var apps []connectedApp
	var ids []string
	for _, c := range consents {
		if name, ok := h.Apps.ThirdPartyApp(c.ClientID); ok {
			apps = append(apps, connectedApp{Consent: c, Name: name})
			ids = append(ids, c.ClientID)
		}
	}
	if len(apps) == 0 {
		return nil, nil
	}
	use, err := h.Sessions.ClientUse(ctx, accountID, ids)
	if err != nil {
		return nil, err
	}
	for i := range apps {
		apps[i].ClientUse = use[apps[i].ClientID]
	}
	return apps, nil
}

// appDevice names a device a client is signed in on: a native or CLI
// client's device_name, else the device's own name.
func (h *Handler) appDevice(clientID string, d sessions.ClientDevice) (name, kind string) {
	if h.AppAlias != nil {
		if alias := h.AppAlias(clientID); alias != "" {
			return alias, "app"
		}
	}
	if d.Name == "" {
		return "Unknown device", "unknown"
	}
	return d.Name, d.Kind
}

func (h *Handler) appView(a connectedApp, self string) templates.ConnectedAppView {
	v := templates.ConnectedAppView{ClientID: a.ClientID, Name: a.Name, Permissions: authn.Permissions(a.Scopes),
		GrantedAt: a.FirstGrantedAt, LastUsedAt: a.LastUsedAt}
	if a.WidenedAt != nil {
		v.WidenedAt = *a.WidenedAt
	}
	for _, d := range a.Devices {
		name, kind := h.appDevice(a.ClientID, d)
		dv := templates.AppDeviceView{Name: name, Kind: kind, Location: placeOrUnknown(d.Place),
			Current: d.DeviceID == self, LastActiveAt: d.LastActiveAt}
		if dv.Current {
			v.Devices = append([]templates.AppDeviceView{dv}, v.Devices...)
		} else {
			v.Devices = append(v.Devices, dv)
		}
	}
	return v
}

// appsFlash is the page's answer to its own removal form.
func (h *Handler) appsFlash(q url.Values) string {
	client := q.Get("removed")
	if client == "" {
		return ""
	}
	name, ok := h.Apps.ThirdPartyApp(client)
	if !ok {
		name = "The app"
	}
	msg := name + " no longer has access to your account."
	switch n := q.Get("n"); n {
	case "", "0":
	case "1":
		msg += " It was signed out on 1 device."
	default:
		if len(n) <= 4 && strings.Trim(n, "0123456789") == "" {
			msg += " It was signed out on " + n + " devices."
		}
	}
	return msg
}

func (h *Handler) renderApps(w http.ResponseWriter, r *http.Request, d *sessions.Device, confirm string) {
	apps, err := h.connected(r.Context(), d.AccountID)
	if err != nil {
		h.failSessions(w, r, err)
		return
	}
	base, name, err := h.sessionsBase(w, r, "Connected apps", d)
	if err != nil {
		h.failSessions(w, r, err)
		return
	}
	p := templates.AppsPage{Base: base, Name: name, Flash: h.appsFlash(r.URL.Query())}
	if r.URL.Query().Get("error") == "gone" {
		p.Error = "That app no longer has access to your account."
	}
	for _, a := range apps {
		v := h.appView(a, d.ID)
		p.Apps = append(p.Apps, v)
		if a.ClientID == confirm {
			p.Confirm = &v
		}
	}
	if confirm != "" && p.Confirm == nil {
		http.Redirect(w, r, "/account/apps?error=gone", http.StatusSeeOther)
		return
	}
	if p.Confirm != nil {
		p.Base.Title = "Remove " + p.Confirm.Name + "?"
	}
	h.Pages.Render(w, http.StatusOK, templates.Apps.With(p))
}

func (h *Handler) appsPage(w http.ResponseWriter, r *http.Request) {
	web.NoStore(w)
	d, ok := h.current(w, r)
	if !ok {
		return
	}
	h.renderApps(w, r, d, "")
}

// appsConfirm asks before removing an app's access: the page again, with
// the app's removal spelled out and one button that posts it.
func (h *Handler) appsConfirm(w http.ResponseWriter, r *http.Request) {
	web.NoStore(w)
	d, ok := h.current(w, r)
	if !ok {
		return
	}
	h.renderApps(w, r, d, r.PathValue("client"))
}

func (h *Handler) appsRemove(w http.ResponseWriter, r *http.Request) {
	d, ok := h.form(w, r)
	if !ok {
		return
	}
	client := r.PathValue("client")
	// From here the person has decided: hanging up does not undo it.
	n, err := h.removeApp(context.WithoutCancel(r.Context()), r, d.AccountID, d.ID, client)
	if errors.Is(err, sessions.ErrNotYours) {
		http.Redirect(w, r, "/account/apps?error=gone", http.StatusSeeOther)
		return
	}
	if err != nil {
		h.failSessions(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/account/apps?removed=%s&n=%d", url.QueryEscape(client), n), http.StatusSeeOther)
}

// removeApp removes a connected app's access in one transaction, in this
// order: authn withdraws the consent first (a code exchange of the app in
// flight holds it, so the removal waits for that exchange and then ends
// what it made), sessions ends the app's live sessions with their
// back-channel logouts, idp revokes every token of its app sessions and
// announces them to every replica, the permission history records the
// removal and the alert is queued. It returns how many devices the app
// was signed out on, and sessions.ErrNotYours, having changed nothing,
// when the account holds no consent for clientID or clientID is
// first-party or unknown. browser is the person's request when it came
// from the page, whose address and browser the history keeps; nil for a
// call of the API.
func (h *Handler) removeApp(ctx context.Context, browser *http.Request, accountID, self, clientID string) (int, error) {
	name, ok := h.Apps.ThirdPartyApp(clientID)
	if !ok || !sessions.IsID(accountID) {
		return 0, sessions.ErrNotYours
	}
	acct, err := h.Accounts.ByID(ctx, accountID)
	if err != nil {
		return 0, err
	}
	from := authn.AlertOrigin{}
	if d, err := h.Sessions.Get(ctx, self); err == nil {
		from.Device = sessions.DescribeUserAgent(d.UserAgent).Name
		from.Place = h.Sessions.Locator.Locate(d.IP).String()
	}
	event := sessions.Event{AccountID: accountID, At: h.Now(), Kind: sessions.EventConsentRemoved, DeviceSessionID: self}
	if browser != nil {
		event.IP, event.UserAgent = h.ClientIP.Addr(browser), browser.UserAgent()
	}
	var ended []string
	err = h.Sessions.Transact(ctx, func(t *sessions.Tx) error {
		consent, err := h.Accounts.WithdrawConsentTx(ctx, t.Tx, accountID, clientID)
		if errors.Is(err, authn.ErrNoConsent) {
			return sessions.ErrNotYours
		}
		if err != nil {
			return err
		}
		var all []string
		if ended, all, err = h.Sessions.EndClientTx(ctx, t.Tx, accountID, clientID, sessions.ReasonAccessRemoved); err != nil {
			return err
		}
		for _, id := range ended {
			t.Forget("app:" + id)
		}
		tags, err := h.Apps.RevokeAppTx(ctx, t.Tx, accountID, clientID, all)
		if err != nil {
			return err
		}
		t.Forget(tags...)
		event.Detail = map[string]any{"client_id": clientID, "scopes": consent.Scopes, "signed_out": len(ended)}
		if err := sessions.Record(ctx, t, event); err != nil {
			return err
		}
		return h.Authn.AlertAppRemoved(ctx, t.Tx, acct, name, len(ended), from)
	})
	if err != nil {
		return 0, err
	}
	return len(ended), nil
}

// --- JSON API -------------------------------------------------------------

// APIConnectedApp is one connected app in the JSON API.
type APIConnectedApp struct {
	ClientID    string         `json:"client_id"`
	Name        string         `json:"name"`
	Scopes      []string       `json:"scopes"`
	Permissions []string       `json:"permissions"`
	GrantedAt   time.Time      `json:"granted_at"`
	WidenedAt   *time.Time     `json:"widened_at"`   // null: never allowed more
	LastUsedAt  *time.Time     `json:"last_used_at"` // null: no use in the last 30 days
	Devices     []APIAppDevice `json:"devices"`
}

// APIAppDevice is a device a connected app is signed in on. Kind and
// DeviceKind say what they say in /api/account/sessions: the kind of
// sign-in ("browser", "cli", "native") and the kind of device, for an
// icon ("desktop", "phone", "app").
type APIAppDevice struct {
	SessionID    string    `json:"session_id"` // the device session's id, as in /api/account/sessions
	Current      bool      `json:"current"`
	Device       string    `json:"device"`
	Kind         string    `json:"kind"`
	DeviceKind   string    `json:"device_kind"`
	Location     string    `json:"location"`
	SignedInAt   time.Time `json:"signed_in_at"`
	LastActiveAt time.Time `json:"last_active_at"`
}

func (h *Handler) apiApps(w http.ResponseWriter, r *http.Request) {
	acct, self, ok := h.apiCaller(w, r, false)
	if !ok {
		return
	}
	apps, err := h.connected(r.Context(), acct)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	out := []APIConnectedApp{}
	for _, a := range apps {
		v := APIConnectedApp{ClientID: a.ClientID, Name: a.Name, Scopes: a.Scopes, Permissions: authn.Permissions(a.Scopes),
			GrantedAt: a.FirstGrantedAt, WidenedAt: a.WidenedAt, Devices: []APIAppDevice{}}
		if v.Permissions == nil {
			v.Permissions = []string{}
		}
		if !a.LastUsedAt.IsZero() {
			v.LastUsedAt = &a.LastUsedAt
		}
		for _, d := range a.Devices {
			name, kind := h.appDevice(a.ClientID, d)
			v.Devices = append(v.Devices, APIAppDevice{SessionID: d.DeviceID, Current: d.DeviceID == self, Device: name,
				Kind: sessionKind(d.SessionKind), DeviceKind: kind,
				Location: placeOrUnknown(d.Place), SignedInAt: d.SignedInAt, LastActiveAt: d.LastActiveAt})
		}
		out = append(out, v)
	}
	apiJSON(w, map[string]any{"apps": out})
}

func (h *Handler) apiAppsRemove(w http.ResponseWriter, r *http.Request) {
	acct, self, ok := h.apiCaller(w, r, true)
	if !ok {
		return
	}
	n, err := h.removeApp(context.WithoutCancel(r.Context()), nil, acct, self, r.PathValue("client"))
	switch {
	case errors.Is(err, sessions.ErrNotYours):
		apiError(w, http.StatusNotFound, "not_found", "no such connected app")
	case err != nil:
		h.apiFail(w, r, err)
	default:
		apiJSON(w, map[string]any{"removed": r.PathValue("client"), "signed_out": n})
	}
}
