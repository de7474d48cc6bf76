package authn

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/latch-idp/latch/internal/notify"
	"github.com/latch-idp/latch/internal/pg"
	"github.com/latch-idp/latch/internal/web"
	"github.com/latch-idp/latch/sessions"
	"github.com/latch-idp/latch/templates"
)

// /device is where a person signs in a command-line or desktop app that
// showed them a code (OAuth 2.0 Device Authorization Grant, RFC 8628
// §3.3): they type the code (or arrive with it in
// verification_uri_complete), see which app asks, what it may do, where
// the request came from and where they are now, and approve or deny. The
// identity provider keeps the requests (DeviceRequests); this page, like
// consent, belongs to the sign-in.
//
// Device-code phishing sends a victim a real code from the attacker's
// machine; the place of the request beside the person's own, and a plain
// warning when they differ, are how the person can catch it here. Codes
// are a secret the person types: wrong ones are counted per account by the
// throttle and per address by the sign-in rate limit (RateLimited). Text
// that cannot be a code at all is answered as such and counts as no
// guess, and a link from another site only fills in the form: the
// person's own Continue, a form post, looks the code up. Otherwise any
// page the person visits could spend their budget of guesses and fill
// their history with wrong codes, by sending them to /device?user_code=.

// DeviceRequest is a pending device authorization as the approval page
// sees it.
type DeviceRequest struct {
	ID       string
	UserCode string // displayed form, "WDJB-MJHT"
	ClientID string
	AppName  string // "Codex CLI"
	// SessionName names the device session an approval makes ("Codex CLI
	// on ada-laptop · Linux"), and Native says it is a desktop app's
	// (session kind native) rather than a command-line tool's (cli).
	SessionName string
	Native      bool
	// FirstParty says the client is one of latch's own apps; approving
	// any other records the person's consent, as the consent page does.
	FirstParty bool
	Scopes     []string
	// AgentWords say what the scopes it asks for that are its agents'
	// let those agents do: "read your files".
	AgentWords []string
	// DeviceName is the name the device reported for itself, cleaned
	// (sessions.CleanHint): its claim, never a fact.
	DeviceName string
	IP         netip.Addr // where the request came from
	UserAgent  string
	ExpiresAt  time.Time
}

// DeviceRequests is the identity provider's store of device
// authorizations, as the approval page uses it.
type DeviceRequests interface {
	// FormatUserCode returns a typed user code in its displayed form
	// ("wdjbmjht" is "WDJB-MJHT"), or false when the text cannot be a user
	// code at all (another length, a character outside the alphabet).
	FormatUserCode(typed string) (string, bool)
	// PendingDevice returns the pending, unexpired request whose user
	// code was typed (in any case, with or without its dash), or
	// ErrUnknownDevice.
	PendingDevice(ctx context.Context, typed string) (*DeviceRequest, error)
	// LockDevice is PendingDevice inside the transaction q that decides
	// the request, holding it until q ends.
	LockDevice(ctx context.Context, q pg.Querier, typed string) (*DeviceRequest, error)
	// DecideDevice records the decision inside q: approved with the device
	// session and app session the approval signed in, or denied (empty
	// ids).
	DecideDevice(ctx context.Context, q pg.Querier, id, accountID, deviceSessionID, appSessionID string) error
}

// ErrUnknownDevice means no pending device authorization has the typed
// user code: it is wrong, expired, or already decided.
var ErrUnknownDevice = errors.New("authn: unknown or spent user code")

// web.CookieReturn holds where a sign-in without an app goes once done,
// instead of /account: the device page sets it before sending a person who
// is not signed in to /login. Only a ReturnPath is followed.

// ReturnPath reports whether p is a page a sign-in or step-up may return
// to: the device page, with at most its user_code.
func ReturnPath(p string) bool {
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Path != "/device" || u.Fragment != "" ||
		len(p) > 64 {
		return false
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return false
	}
	for k, v := range q {
		if k != "user_code" || len(v) != 1 {
			return false
		}
	}
	return true
}

func (h *Handler) deviceRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /device", h.devicePage)
	mux.HandleFunc("POST /device", h.deviceEnter)
	mux.HandleFunc("POST /device/decide", h.deviceDecide)
}

// deviceSignedIn returns the browser's session and account. A browser
// that is not signed in is sent to sign in and brought back here.
func (h *Handler) deviceSignedIn(w http.ResponseWriter, r *http.Request, typed string) (*sessions.Device, *Account, bool) {
	d, ok := h.device(w, r)
	if !ok {
		return nil, nil, false
	}
	if d == nil {
		back := "/device"
		if typed != "" && len(typed) <= 16 {
			back += "?user_code=" + url.QueryEscape(typed)
		}
		h.Cookies.Set(w, web.CookieReturn, back, 15*time.Minute)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil, nil, false
	}
	if d.Restricted() {
		// A recovery session signs nothing in until it has a credential.
		http.Redirect(w, r, "/account/security", http.StatusSeeOther)
		return nil, nil, false
	}
	acct, err := h.Accounts.ByID(r.Context(), d.AccountID)
	if err != nil {
		h.fail(w, r, err)
		return nil, nil, false
	}
	return d, acct, true
}

func (h *Handler) renderDevice(w http.ResponseWriter, r *http.Request, status int, acct *Account, p templates.DevicePage) {
	web.NoStore(w)
	p.Base = h.baseFor(w, r, "Sign in a device", acct)
	h.Pages.Render(w, status, templates.Device.With(p))
}

// devicePage shows the form for a code, or, opened with one
// (verification_uri_complete), the request it names. A link from another
// site only fills the code in (fromAnotherSite).
func (h *Handler) devicePage(w http.ResponseWriter, r *http.Request) {
	typed := r.URL.Query().Get("user_code")
	_, acct, ok := h.deviceSignedIn(w, r, typed)
	if !ok {
		return
	}
	if typed == "" {
		h.renderDevice(w, r, http.StatusOK, acct, templates.DevicePage{})
		return
	}
	if fromAnotherSite(r) {
		code, ok := h.Devices.FormatUserCode(typed)
		if !ok {
			h.malformedCode(w, r, acct, typed)
			return
		}
		h.renderDevice(w, r, http.StatusOK, acct, templates.DevicePage{UserCode: code, Prefilled: true})
		return
	}
	h.showDevice(w, r, acct, typed)
}

// fromAnotherSite reports whether the browser says the request was started
// by another site (Sec-Fetch-Site cross-site, or same-site: a sibling
// origin). A link the person opened themselves, typed or from the
// terminal, is "none"; latch's own redirects, after a sign-in or a
// step-up, are same-origin; a browser that sends no Sec-Fetch-Site is
// taken at its word as well.
func fromAnotherSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return true
	}
	return false
}

func (h *Handler) deviceEnter(w http.ResponseWriter, r *http.Request) {
	if !h.deviceForm(w, r) {
		return
	}
	typed := r.PostFormValue("user_code")
	_, acct, ok := h.deviceSignedIn(w, r, typed)
	if !ok {
		return
	}
	h.showDevice(w, r, acct, typed)
}

// deviceForm checks a form post of the device page (CSRF).
func (h *Handler) deviceForm(w http.ResponseWriter, r *http.Request) bool {
	web.NoStore(w)
	if err := h.CSRF.Check(r); err != nil {
		h.errorPage(w, r, http.StatusForbidden, "This form has expired", "Reload the page and try again.")
		return false
	}
	return true
}

// lookUpDevice finds the pending device authorization of a typed user
// code. A user code is a secret the person types: the look-up goes through
// the sign-in guard, which counts it against the account's budget before
// the code is even looked at, and records a wrong one (SecretUserCode).
// Text that cannot be a user code is no guess at one: it is answered
// without the guard. When the code is malformed or not found, or the
// budget is spent, the answer has been written.
func (h *Handler) lookUpDevice(w http.ResponseWriter, r *http.Request, acct *Account, typed string) (*DeviceRequest, bool) {
	if _, ok := h.Devices.FormatUserCode(typed); !ok {
		h.malformedCode(w, r, acct, typed)
		return nil, false
	}
	var req *DeviceRequest
	no := h.Guard(r.Context(), r, Attempt{Method: sessions.MethodUserCode, Secret: SecretUserCode, Account: acct,
		Verify: func(ctx context.Context, _ *Worker) error {
			var err error
			req, err = h.Devices.PendingDevice(ctx, typed)
			if errors.Is(err, ErrUnknownDevice) {
				return WrongSecret(err)
			}
			return err
		}})
	if no == nil {
		return req, true
	}
	if len(typed) > 32 {
		typed = ""
	}
	switch no.Kind {
	case Throttled:
		no.SetRetryAfter(w)
		h.renderDevice(w, r, no.Status(), acct, templates.DevicePage{UserCode: typed,
			Error: "Too many wrong codes. Wait " + roundWait(no.RetryAfter) + " and try again."})
	case Wrong:
		h.renderDevice(w, r, http.StatusBadRequest, acct, templates.DevicePage{UserCode: typed,
			Error: "That code isn't valid: it may have expired or been used already. Check the code your device shows, or start signing in there again."})
	default:
		h.fail(w, r, no.Err)
	}
	return nil, false
}

// malformedCode answers text that cannot be a user code, refilled in the
// form for the person to correct. It counts as no guess: nothing is
// looked up, throttled or recorded.
func (h *Handler) malformedCode(w http.ResponseWriter, r *http.Request, acct *Account, typed string) {
	if len(typed) > 32 {
		typed = ""
	}
	h.renderDevice(w, r, http.StatusBadRequest, acct, templates.DevicePage{UserCode: typed,
		Error: "That isn't a code latch gives out: codes are 8 letters, like WDJB-MJHT. Check the code your terminal or app shows."})
}

// devicePermissions says in words what an approval lets the app do: the
// standard scopes' words, and the agents it may then start with what they
// may do.
func devicePermissions(req *DeviceRequest) []string {
	out := Permissions(req.Scopes)
	if w := req.AgentWords; len(w) > 0 {
		words := w[0]
		if len(w) > 1 {
			words = strings.Join(w[:len(w)-1], ", ") + " and " + w[len(w)-1]
		}
		out = append(out, "Start agents that act for you and may "+words)
	}
	return out
}

// showDevice shows a pending request before the person decides.
func (h *Handler) showDevice(w http.ResponseWriter, r *http.Request, acct *Account, typed string) {
	req, ok := h.lookUpDevice(w, r, acct, typed)
	if !ok {
		return
	}
	here := h.ClientIP.Addr(r)
	fromPlace, herePlace := h.Sessions.Locator.Locate(req.IP), h.Sessions.Locator.Locate(here)
	view := &templates.DeviceRequestView{
		UserCode: req.UserCode, AppName: req.AppName, Permissions: devicePermissions(req),
		FromPlace: fromPlace.String(), FromName: req.DeviceName, HerePlace: herePlace.String(),
		PlacesDiffer: placesDiffer(req.IP, here, fromPlace, herePlace),
		StepUp:       acct.Advanced(), ExpiresAt: req.ExpiresAt,
	}
	if req.IP.IsValid() {
		view.FromIP = req.IP.String()
	}
	if here.IsValid() {
		view.HereIP = here.String()
	}
	h.renderDevice(w, r, http.StatusOK, acct, templates.DevicePage{Request: view})
}

// placesDiffer reports whether a device authorization came from
// somewhere else than the person approving it: another network, and not
// the same known place (the same city, or both this computer or the local
// network). Without a GeoIP database two addresses apart differ.
func placesDiffer(from, here netip.Addr, fromPlace, herePlace sessions.Place) bool {
	if from.IsValid() && here.IsValid() && web.LimitKey(from) == web.LimitKey(here) {
		return false
	}
	return !fromPlace.Known() || fromPlace.String() != herePlace.String()
}

// deviceDecide records Approve or Deny. Approving signs the device in: a
// device session of its own (kind cli, or native for a desktop app), named
// after the app and the device, with an app session for its client, the
// spent code, the consent of an app that is not latch's own, an activity
// record and the owner's alert, all in one transaction. Advanced accounts approve only right after a passkey.
func (h *Handler) deviceDecide(w http.ResponseWriter, r *http.Request) {
	if !h.deviceForm(w, r) {
		return
	}
	typed := r.PostFormValue("user_code")
	d, acct, ok := h.deviceSignedIn(w, r, typed)
	if !ok {
		return
	}
	decision := r.PostFormValue("decision")
	if decision != "approve" && decision != "deny" {
		h.errorPage(w, r, http.StatusBadRequest, "latch could not read that request", "Go back, reload the page and try again.")
		return
	}
	req, ok := h.lookUpDevice(w, r, acct, typed)
	if !ok {
		return
	}
	if decision == "approve" && acct.Advanced() && !h.passkeyFresh(d) {
		// The step-up comes back here with the code; its page asks for a
		// passkey only, as advanced accounts have nothing else.
		next := "/device?user_code=" + url.QueryEscape(req.UserCode)
		http.Redirect(w, r, "/account/reauth?next="+url.QueryEscape(next), http.StatusSeeOther)
		return
	}
	// The person has decided: from here a hang-up changes nothing.
	ctx := context.WithoutCancel(r.Context())
	var err error
	if decision == "deny" {
		err = h.denyDevice(ctx, r, d, acct, req.UserCode)
	} else {
		err = h.approveDevice(ctx, r, d, acct, req.UserCode)
	}
	if errors.Is(err, ErrUnknownDevice) {
		// Decided meanwhile (another tab, a second click) or expired.
		h.renderDevice(w, r, http.StatusConflict, acct, templates.DevicePage{
			Error: "That code isn't valid any more: it expired or was already used. Start signing in on your device again."})
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	done := "approved"
	if decision == "deny" {
		done = "denied"
	}
	h.renderDevice(w, r, http.StatusOK, acct, templates.DevicePage{Done: done, AppName: req.AppName})
}

// passkeyFresh reports whether the browser session signed in, or stepped
// up, with a passkey within the advanced step-up window.
func (h *Handler) passkeyFresh(d *sessions.Device) bool {
	window := h.DeviceStepUp
	if window <= 0 {
		window = 5 * time.Minute
	}
	return PasskeyWithin(d, h.Now(), window)
}

// PasskeyWithin reports whether session d signed in, or last stepped up,
// with a passkey (phishing-resistant) at most window before now.
func PasskeyWithin(d *sessions.Device, now time.Time, window time.Duration) bool {
	return d.ACR == ACRPhishingResistant && now.Sub(d.AuthTime) <= window
}

func (h *Handler) denyDevice(ctx context.Context, r *http.Request, d *sessions.Device, acct *Account, code string) error {
	return h.Sessions.Transact(ctx, func(t *sessions.Tx) error {
		req, err := h.Devices.LockDevice(ctx, t, code)
		if err != nil {
			return err
		}
		if err := h.Devices.DecideDevice(ctx, t, req.ID, acct.ID, "", ""); err != nil {
			return err
		}
		return h.recordTx(ctx, t, r, acct.ID, sessions.EventDeviceDenied, d.ID, map[string]any{"client_id": req.ClientID,
			"name": req.SessionName, "from": h.Sessions.Locator.Locate(req.IP).String()})
	})
}

func (h *Handler) approveDevice(ctx context.Context, r *http.Request, d *sessions.Device, acct *Account, code string) error {
	approvedOn := sessions.DescribeUserAgent(d.UserAgent).Name
	return h.Sessions.Transact(ctx, func(t *sessions.Tx) error {
		req, err := h.Devices.LockDevice(ctx, t, code)
		if err != nil {
			return err
		}
		kind := sessions.KindCLI
		if req.Native {
			kind = sessions.KindNative
		}
		cli, _, err := h.Sessions.CreateTx(ctx, t, sessions.NewDevice{
			AccountID: acct.ID, Mode: acct.SecurityMode, AMR: d.AMR, ACR: d.ACR, IP: req.IP, UserAgent: req.UserAgent,
			Kind: kind, Name: req.SessionName, ApprovedBy: d.ID, ApprovedOn: approvedOn})
		if err != nil {
			return err
		}
		app, err := h.Sessions.AppSession(ctx, t, cli.ID, acct.ID, req.ClientID)
		if err != nil {
			return err
		}
		if err := h.Devices.DecideDevice(ctx, t, req.ID, acct.ID, cli.ID, app); err != nil {
			return err
		}
		// An app that is not latch's own: approving it is allowing it,
		// as on the consent page, so it is listed under Connected apps
		// and removing its access there signs it out.
		if !req.FirstParty {
			if err := h.consentTx(ctx, t, r, d, req.ClientID, req.Scopes); err != nil {
				return err
			}
		}
		from := h.Sessions.Locator.Locate(req.IP).String()
		if err := h.recordTx(ctx, t, r, acct.ID, sessions.EventDeviceApproved, d.ID, map[string]any{"client_id": req.ClientID,
			"name": req.SessionName, "session": cli.ID, "from": from, "kind": kind}); err != nil {
			return err
		}
		return h.alert(ctx, t.Tx, acct, alertDevice(h, req, from, approvedOn))
	})
}

// alertDevice tells the owner that a device was signed in with a code, and
// on which of their devices the code was approved.
func alertDevice(h *Handler, req *DeviceRequest, from, approvedOn string) alertDraft {
	return alertDraft{Subject: req.AppName + " was signed in to your account", Alert: notify.Alert{
		Heading: req.AppName + " was signed in",
		Lines: []string{req.AppName + " was signed in from " + from + ", approved on " + approvedOn + ".",
			"If you didn't approve this yourself, someone may have sent you a sign-in code: end that session now."},
		Facts:  [][2]string{{"Device", req.SessionName}, {"Where", from}, {"Approved on", approvedOn}, {"When", when(h.Now())}},
		Action: "Review your sessions", URL: h.link("/account/sessions"),
		Footer: "You get this email every time a device signs in to your account with a code.",
	}}
}
