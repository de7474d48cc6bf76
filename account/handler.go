package account

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/latch-idp/latch/authn"
	"github.com/latch-idp/latch/internal/web"
	"github.com/latch-idp/latch/recovery"
	"github.com/latch-idp/latch/sessions"
	"github.com/latch-idp/latch/templates"
)

// Handler serves the account pages and the sessions API.
type Handler struct {
	// Authn is the sign-in side: the session of a request, the step-up's
	// checks, alerts, and latch's error and unavailable pages.
	Authn    *authn.Handler
	Accounts *authn.Accounts
	Passkeys *authn.Passkeys
	TOTP     *authn.TOTP
	Recovery *recovery.Keys
	Sessions *sessions.Store
	Changes  *Changes
	Pages    *templates.Set
	Cookies  *web.Cookies
	CSRF     *web.CSRF
	ClientIP *web.ClientIP
	Logger   *slog.Logger
	Now      func() time.Time
	// Reveal seals what the security page shows once (new recovery keys,
	// an authenticator app's secret) into a short-lived cookie.
	Reveal *securecookie.SecureCookie
	// StepUp is the window within which an authentication counts for a
	// sensitive change, by security mode (docs/design.md §Policies P2: 10
	// and 5 minutes).
	StepUp map[sessions.SecurityMode]time.Duration
	// Bearer lets first-party apps call the sessions API.
	Bearer BearerChecker
	// AppName names a client for people; AppAlias is a native or CLI
	// client's device_name, or "".
	AppName  func(clientID string) string
	AppAlias func(clientID string) string
	// ScopeWords says what scopes let an agent do, in words
	// (agents_page.go).
	ScopeWords func(agentID string, scopes []string) []string
	// Apps tells which clients are apps that are not latch's own and
	// revokes their tokens, for the connected apps page (apps_page.go);
	// without it /account/apps and /api/account/apps are not served.
	Apps ThirdPartyApps
}

// Routes registers the handler's routes on mux.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /account", h.account)
	h.stepUpRoutes(mux)
	h.securityRoutes(mux)
	h.advancedRoutes(mux)
	h.sessionsRoutes(mux)
}

// RateLimited lists the routes that check a secret, each with its sign-in
// method (the metric's label), for the per-address rate limit that
// web.Guard applies before their body is read (see
// authn.Handler.RateLimited).
func (h *Handler) RateLimited() map[string]string {
	return map[string]string{"POST /account/reauth": "step_up"}
}

// device is authn's Device for a page: when latch could not tell, the
// answer has been written (503 while the database is away) and ok is
// false.
func (h *Handler) device(w http.ResponseWriter, r *http.Request) (d *sessions.Device, ok bool) {
	d, err := h.Authn.Device(r)
	if err != nil {
		h.fail(w, r, err)
		return nil, false
	}
	return d, true
}

// jsonDevice is device for a script's JSON call.
func (h *Handler) jsonDevice(w http.ResponseWriter, r *http.Request) (d *sessions.Device, ok bool) {
	d, err := h.Authn.Device(r)
	if err != nil {
		h.failMaybeJSON(w, r, err, true)
		return nil, false
	}
	return d, true
}

// fail answers a request of the security pages that went wrong as the
// sign-in pages do: busy, 503 while the database is away, else 500.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) { h.Authn.Fail(w, r, err) }

// failMaybeJSON is fail, or its JSON form for a script's call.
func (h *Handler) failMaybeJSON(w http.ResponseWriter, r *http.Request, err error, asJSON bool) {
	if asJSON {
		h.Authn.FailJSON(w, r, err)
		return
	}
	h.fail(w, r, err)
}

func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, status int, heading, message string) {
	h.Authn.ErrorPage(w, r, status, heading, message)
}

// baseFor is the frame of a page of acct.
func (h *Handler) baseFor(w http.ResponseWriter, r *http.Request, title string, a *authn.Account) templates.Base {
	b := templates.Base{Title: title, CSRFToken: h.CSRF.Token(w, r)}
	if a != nil {
		b.SignedIn, b.Email = true, a.Email
	}
	return b
}

// binding ties passkey ceremonies to this browser (see authn).
func (h *Handler) binding(w http.ResponseWriter, r *http.Request) string {
	return h.Authn.WebAuthnBinding(w, r)
}

// endOthersTx ends every live device session of the account but keep,
// inside t, and returns how many ended.
func (h *Handler) endOthersTx(ctx context.Context, t *sessions.Tx, accountID, keep string, reason sessions.EndReason) (int, error) {
	ids, err := h.Sessions.EndAllTx(ctx, t, accountID, keep, reason)
	t.Forget(ids...)
	return len(ids), err
}

// recordTx writes an activity event of this request inside t.
func (h *Handler) recordTx(ctx context.Context, t *sessions.Tx, r *http.Request, accountID string, kind sessions.EventKind, deviceSessionID string, detail map[string]any) error {
	return sessions.Record(ctx, t, sessions.Event{AccountID: accountID, At: h.Now(), Kind: kind, DeviceSessionID: deviceSessionID,
		IP: h.ClientIP.Addr(r), UserAgent: r.UserAgent(), Detail: detail})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	web.NoStore(w)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// v is latch's own map or struct, which always encodes; an error
	// writing is the client gone, and nothing is left to tell it.
	_ = json.NewEncoder(w).Encode(v)
}

func jsonError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// readJSON decodes a small JSON body after the CSRF check every script call
// passes (the token travels in the X-CSRF-Token header).
func (h *Handler) readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := h.CSRF.Check(r); err != nil {
		jsonError(w, http.StatusForbidden, "This page has expired. Reload it and try again.")
		return false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil || json.Unmarshal(body, v) != nil {
		jsonError(w, http.StatusBadRequest, "latch could not read that request.")
		return false
	}
	return true
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

func uniq(ids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
