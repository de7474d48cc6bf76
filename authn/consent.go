package authn

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/latch-idp/latch/internal/web"
	"github.com/latch-idp/latch/sessions"
	"github.com/latch-idp/latch/templates"
)

// Consent: an app that is not one of latch's own (first_party: false) may
// sign a person in only after the person allowed it, once per set of
// scopes. First-party apps share SSO and skip this page.

// scopeWords says what each scope lets an app do, on the consent page and
// the connected apps page.
var scopeWords = map[string]string{
	"openid":         "Know who you are on latch",
	"profile":        "See your name",
	"email":          "See your email address",
	"offline_access": "Stay signed in while you're away",
	"sessions":       "See and end your sessions",
}

// scopeOrder is the order permissions are listed in, whatever the order
// an app asked in or a consent stores: who you are first, staying signed
// in and the sessions last.
var scopeOrder = []string{"openid", "profile", "email", "offline_access", "sessions"}

// Permissions says in words what scopes let an app do, in scopeOrder;
// scopes without words (none a registered app can get) are left out.
func Permissions(scopes []string) []string {
	var out []string
	for _, s := range scopeOrder {
		if slices.Contains(scopes, s) {
			out = append(out, scopeWords[s])
		}
	}
	return out
}

// needsConsent returns the consent page's address when the request's app
// needs a consent the person has not given.
func (h *Handler) needsConsent(ctx context.Context, id string, d *sessions.Device) (string, bool) {
	req, err := h.Requests.LoginRequest(ctx, id)
	if err != nil || req.FirstParty {
		return "", false
	}
	if h.consented(ctx, d.AccountID, req) {
		return "", false
	}
	return "/consent?auth_request=" + url.QueryEscape(id), true
}

func (h *Handler) consented(ctx context.Context, accountID string, req *AuthRequest) bool {
	granted, ok, err := h.Accounts.Consented(ctx, accountID, req.ClientID)
	if err != nil || !ok {
		return false
	}
	for _, s := range req.Scopes {
		if !slices.Contains(granted, s) {
			return false
		}
	}
	return true
}

func (h *Handler) consentRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /consent", h.consentPage)
	mux.HandleFunc("POST /consent", h.consent)
}

func (h *Handler) consentPage(w http.ResponseWriter, r *http.Request) {
	web.NoStore(w)
	d, ok := h.device(w, r)
	if !ok {
		return
	}
	if d == nil || d.Restricted() {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	req, err := h.Requests.LoginRequest(r.Context(), r.URL.Query().Get("auth_request"))
	if err != nil {
		h.requestError(w, r, err)
		return
	}
	p := templates.ConsentPage{Base: h.base(w, r, "Allow "+req.AppName+"?", d), AppName: req.AppName, AuthRequestID: req.ID,
		Permissions: Permissions(req.Scopes)}
	h.Pages.Render(w, http.StatusOK, templates.Consent.With(p))
}

// consent records the person's answer: allowed, the request completes and
// the grant is remembered; refused, the app gets access_denied.
func (h *Handler) consent(w http.ResponseWriter, r *http.Request) {
	web.NoStore(w)
	if err := h.CSRF.Check(r); err != nil {
		h.errorPage(w, r, http.StatusForbidden, "This form has expired", "Reload the page and try again.")
		return
	}
	d, ok := h.device(w, r)
	if !ok {
		return
	}
	if d == nil || d.Restricted() {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	ctx := r.Context()
	req, err := h.Requests.LoginRequest(ctx, r.PostFormValue("auth_request"))
	if err != nil {
		h.requestError(w, r, err)
		return
	}
	if r.PostFormValue("decision") != "allow" {
		to, err := h.Requests.Refuse(ctx, req.ID, "access_denied", "The person did not allow the app.")
		if err != nil {
			h.requestError(w, r, err)
			return
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	// Allowed: from here a hang-up changes nothing.
	ctx = context.WithoutCancel(r.Context())
	err = h.Sessions.Transact(ctx, func(t *sessions.Tx) error {
		return h.consentTx(ctx, t, r, d, req.ClientID, req.Scopes)
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	to, err := h.Requests.Complete(ctx, req.ID, d)
	if errors.Is(err, ErrConditionsUnmet) {
		// The sign-in is too old for the app's max_age or prompt=login, or
		// not the kind it asked for: consenting does not change that.
		to, err = loginURL(req.ID), nil
	}
	if err != nil {
		h.requestError(w, r, err)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// consentTx records, inside t, that the person allowed a client these
// scopes, and writes the permission history: the first grant, then each
// widening with the scopes it added; nothing when every scope was allowed
// already. d is the browser session the person answered in. The consent
// page and an approval at /device (device.go) both record through it.
func (h *Handler) consentTx(ctx context.Context, t *sessions.Tx, r *http.Request, d *sessions.Device, clientID string, scopes []string) error {
	change, added, err := h.Accounts.ConsentTx(ctx, t.Tx, d.AccountID, clientID, scopes, h.Now())
	if err != nil || change == ConsentUnchanged {
		return err
	}
	kind := sessions.EventConsentGranted
	if change == ConsentWidened {
		kind = sessions.EventConsentWidened
	}
	return sessions.Record(ctx, t, sessions.Event{AccountID: d.AccountID, At: h.Now(), Kind: kind,
		DeviceSessionID: d.ID, IP: h.ClientIP.Addr(r), UserAgent: r.UserAgent(),
		Detail: map[string]any{"client_id": clientID, "scopes": scopes, "added": added}})
}
