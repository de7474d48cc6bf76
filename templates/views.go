package templates

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

//go:embed html/*.html
var pageFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Base is embedded in every page's data. The layout reads it as .Base, never
// through promoted fields, so a page's own field of the same name (the email
// typed into the sign-in form, say) can never stand in for the signed-in
// account in the header.
type Base struct {
	Title     string // <title> and heading context
	CSRFToken string // value for hidden input name="csrf_token" in every POST form
	SignedIn  bool   // shows "Account" and "Sign out" in the header when true
	Email     string // the signed-in account's email, shown in the header when SignedIn
}

// LoginPage is the sign-in page at /login: a password form, a "Sign in with
// a passkey" button, passkey autofill on the email field, and a link to the
// recovery-key sign-in. passkeys.js drives the passkey parts and reads the
// auth request id from the hidden input name="auth_request".
type LoginPage struct {
	Base
	AppName       string // the app the person is signing in to ("ChatGPT"); empty when signing in to latch itself
	AuthRequestID string // hidden input name="auth_request"; may be empty
	Email         string // refilled after an error
	Error         string // a plain sentence, e.g. "Wrong email or password." (role="alert")
	Notice        string // neutral information (role="status"), never an error
	Reauth        bool   // true when the app asked for a fresh sign-in (prompt=login/max_age): say "Confirm it's you"

	// PasskeyOnly shows the passkey button alone, with a sentence saying
	// why, and no password form: the app asked for phishing-resistant
	// sign-in (acr_values=phr) or the account signs in with passkeys only.
	PasskeyOnly bool
}

// SecondFactorPage asks for the second step of a password sign-in at
// /login/verify: a code from the authenticator app, or a recovery key.
type SecondFactorPage struct {
	Base
	AppName     string // may be empty
	Email       string // who is signing in, shown
	UseRecovery bool   // ask for a recovery key instead of a code
	Error       string

	// CanTrust offers the checkbox name="trust_device" value="1": a
	// trusted browser skips the second step here for 30 days. The handler
	// leaves it false where trust is not allowed (advanced security).
	CanTrust bool
}

// RecoverPage is the recovery-key sign-in at /login/recover, for accounts
// that sign in with passkeys only and have lost them. It leads to a short
// restricted session in which the person adds a passkey or sets a password.
type RecoverPage struct {
	Base
	AuthRequestID string // hidden input name="auth_request"; may be empty
	Email         string // refilled after an error
	Error         string
}

// ReauthPage is the step-up at /account/reauth that stands before a
// sensitive change. Change and Next travel in hidden inputs, for the form
// and for passkeys.js alike.
type ReauthPage struct {
	Base
	Description string // what is waiting, e.g. "Confirm it's you to remove the passkey “MacBook”."
	Change      string // hidden input name="change"
	Next        string // hidden input name="next"; also where Cancel leads (a same-site path)
	HasPassword bool   // show the password form
	HasTOTP     bool   // the password form also asks for a 6-digit code (field "code")
	HasPasskey  bool   // show "Use your passkey"
	PasskeyOnly bool   // accept only a passkey: no password form even when HasPassword
	Error       string
}

// SecurityPage is /account/security: passkeys, authenticator app, recovery
// keys, password and advanced security.
type SecurityPage struct {
	Base
	Name       string // the account's display name, for the page head
	Flash      string // a success sentence (role="status"), e.g. "Passkey added."
	Error      string // role="alert"
	Restricted bool   // a recovery session: say that this is the only page until a passkey or password is added

	Passkeys    []PasskeyView
	TOTPEnabled bool
	TOTPSetup   *TOTPSetupView // non-nil while setting up the authenticator app
	Recovery    RecoveryView

	// NewRecoveryKeys is non-empty only in the answer that generated them:
	// they are shown this once, with RecoveryDownload, a
	// data:text/plain;base64,... URL of the same keys for a download link.
	NewRecoveryKeys  []string
	RecoveryDownload template.URL

	HasPassword       bool
	CanRemovePassword bool // a passkey that can sign in exists, so the password may go

	// UsablePasskey is true when a passkey is not suspended: it can vouch
	// for a suspended one. A suspended passkey's warning says how it can be
	// confirmed, and, when the account has neither such a passkey nor a
	// password, that recovery keys are the way back in.
	UsablePasskey bool

	// Advanced is the advanced security section. While it is on, the
	// password and authenticator app panels say they are not used and
	// offer no forms.
	Advanced AdvancedView
}

// SuspendedPasskeys counts the passkeys that are suspended, for the state
// of the passkeys panel.
func (p SecurityPage) SuspendedPasskeys() int {
	n := 0
	for _, pk := range p.Passkeys {
		if pk.Suspended {
			n++
		}
	}
	return n
}

// AdvancedView is the advanced security section of the security page:
// while it is off, what it costs, the conditions for turning it on and how
// to meet each; while it is on, what it means and the way to turn it off.
type AdvancedView struct {
	On              bool      // the account is in advanced mode
	Since           time.Time // when it was turned on (zero when off)
	PasskeyStepUp   bool      // condition: signed in or confirmed with a passkey in the last few minutes
	TwoPasskeys     bool      // condition: at least two passkeys
	SyncedPasskey   bool      // condition: at least one of them synced (backup eligible)
	RecoverySaved   bool      // condition: a recovery key set generated for this and confirmed saved by typing one key back
	RecoveryPending bool      // keys were generated for this; waiting for the typed-back key
	// SuspendedPasskey says a passkey is suspended and so counts for none
	// of the passkey conditions.
	SuspendedPasskey bool
	Ready            bool   // every condition met
	Error            string // refusal sentence for this section (role="alert")
	// The policy in words, from latch's flags: "12 hours", "15 minutes",
	// "5 minutes". Empty means DESIGN.md's defaults.
	SessionLimit, IdleLimit, StepUpWindow string
}

// Limits returns the section's policy phrases, with DESIGN.md's defaults
// where the handler gave none.
func (a AdvancedView) Limits() AdvancedView {
	if a.SessionLimit == "" {
		a.SessionLimit = "12 hours"
	}
	if a.IdleLimit == "" {
		a.IdleLimit = "15 minutes"
	}
	if a.StepUpWindow == "" {
		a.StepUpWindow = "5 minutes"
	}
	return a
}

// Met counts the conditions already met, for the "2 of 4 done" line.
func (a AdvancedView) Met() int {
	n := 0
	for _, ok := range []bool{a.PasskeyStepUp, a.TwoPasskeys, a.SyncedPasskey, a.RecoverySaved} {
		if ok {
			n++
		}
	}
	return n
}

// PasskeyView is one passkey on the security page.
type PasskeyView struct {
	ID            string // base64url credential id, used in the rename and remove URLs
	Name          string
	CreatedAt     time.Time
	LastUsedAt    *time.Time // nil when never used
	Synced        bool       // backup eligible: "Synced" rather than "This device only"
	Authenticator string     // e.g. "iCloud Keychain"; empty when unknown
	// Suspended: the passkey showed an out-of-date counter, a sign of a
	// copy, and signs nothing in. The page warns beside it and offers
	// "It's mine, keep it" (POST .../passkeys/{ID}/reinstate) and "Remove
	// it" in place of the plain Remove.
	Suspended bool
}

// RecoveryView summarises the account's recovery keys.
type RecoveryView struct {
	HasSet    bool
	Total     int
	Remaining int
	CreatedAt time.Time
}

// TOTPSetupView is the authenticator app enrolment in progress.
type TOTPSetupView struct {
	QRDataURL template.URL // data:image/png;base64,... of the otpauth:// URI
	Secret    string       // base32, shown in groups of four for typing
	Error     string       // the confirmation code was wrong
}

// LogoutConfirmPage asks before ending the device session when a logout
// request cannot prove it came from the person (RP-Initiated Logout 1.0 §2
// leaves confirmation to the OP when id_token_hint is missing or stale).
type LogoutConfirmPage struct {
	Base
	AppName string // may be empty
	Request string // hidden input name="request": opaque value to post back
}

// LoggedOutPage is shown after a sign-out that has nowhere else to go.
// ConsentPage asks a person to let an app that is not one of latch's own
// (first_party: false) sign them in and see what it asked for.
type ConsentPage struct {
	Base
	AppName       string
	AuthRequestID string   // hidden auth_request
	Permissions   []string // what the app asks for, in words
}

type LoggedOutPage struct{ Base }

// ErrorPage tells a person what went wrong in words meant for them; the
// detail belongs in the log.
type ErrorPage struct {
	Base
	Status  int
	Heading string // "This sign-in link is not valid"
	Message string // plain sentence for people, never internals
}

// UnavailablePage says calmly that latch cannot reach its database: the
// person's session and credentials are fine, and trying again in a moment
// is all there is to do. Its handler answers 503 with Retry-After and never
// asks the database anything, so it renders with a plain Base (no account
// in the header, no sign-in button either: the person may well be signed
// in).
type UnavailablePage struct {
	Base
	Retry string // a same-site path to load again ("Try again"); empty after a form was posted
}

// AccountPage is the overview at /account.
type AccountPage struct {
	Base
	Name       string
	SignedInAt time.Time
	Methods    []string // e.g. ["Password"]
	Device     string   // e.g. "Chrome on Linux" (may be empty)
}

// SessionsPage is /account/sessions, "Where you're signed in": every device
// session with the app sessions under it, each of which the person can end,
// and the sessions that ended in the last 30 days.
type SessionsPage struct {
	Base
	Name    string       // the account's display name, for the page head
	Flash   string       // a success sentence (role="status"), e.g. "Signed out of 2 sessions."
	Error   string       // role="alert"
	Devices []DeviceView // this device first, then the others by last activity
	Ended   []EndedView  // recently ended (30 days), newest first
	// Total is how many live device sessions the account has; Devices is
	// one page of them. NextPage and PrevPage link the neighbouring pages.
	Total    int
	NextPage string
	PrevPage string
}

// ThisDevice returns the device session the page is shown on, or nil when
// none of Devices is marked Current.
func (p SessionsPage) ThisDevice() *DeviceView {
	for i := range p.Devices {
		if p.Devices[i].Current {
			return &p.Devices[i]
		}
	}
	return nil
}

// OtherDevices returns every device session but the current one, in the
// order of Devices. Only these can be selected for "End selected sessions"
// or reported with "This wasn't me".
func (p SessionsPage) OtherDevices() []DeviceView {
	var out []DeviceView
	for _, d := range p.Devices {
		if !d.Current {
			out = append(out, d)
		}
	}
	return out
}

// DeviceView is one device session on the sessions page. The page never
// shows an IP address: Location is the approximate place it maps to.
type DeviceView struct {
	ID           string // opaque device session id, used in the URLs
	Name         string // "Chrome on macOS", "Safari on iPhone", "Codex CLI"
	Kind         string // "desktop", "phone", "tablet", "app" or "unknown": picks the icon
	Location     string // "London, England, United Kingdom" or "Unknown location"
	SignedInAt   time.Time
	LastActiveAt time.Time
	Method       string    // "Passkey", "Password and authenticator app", "Password", "Recovery key"
	Trusted      bool      // a trusted device: a "Trusted" chip and a "Stop trusting" form
	Current      bool      // the device the page is shown on: "This device", no checkbox, "Sign out"
	Apps         []AppView // the apps signed in on it
}

// AppView is one app session inside a device session.
type AppView struct {
	ID           string // opaque app session id
	Name         string // "ChatGPT"
	SignedInAt   time.Time
	LastActiveAt time.Time // its last token refresh
}

// EndedView is a device session that ended in the last 30 days.
type EndedView struct {
	Name     string // device name
	Kind     string
	Location string
	EndedAt  time.Time
	Reason   string // a sentence fragment: "Signed out", "Ended from another device", "Expired", ...
	Apps     []EndedAppView
}

// EndedAppView is an app that was signed in on an ended session, with the
// state of the back-channel logout message sent to it.
type EndedAppView struct {
	Name     string
	Delivery string // "delivered", "pending", "failed", or "" when the app takes no back-channel logout
}

// ActivityPage is /account/activity: the account's history, newest first,
// grouped by day on the page.
type ActivityPage struct {
	Base
	Name   string
	Events []EventView // newest first
}

// EventView is one entry of the activity history. Unlike the sessions page,
// the history shows the IP address the event came from.
type EventView struct {
	At       time.Time
	Kind     string // "signin", "new_device", "ended", "credential", "recovery", "lock" or "other": picks the icon
	Title    string // "Signed in", "Passkey added", "Recovery key used", ...
	Detail   string // "with a passkey", "by you on Chrome on macOS", ... (may be empty)
	Device   string // "Firefox on Windows" or ""
	Location string // "Berlin, Germany" or ""
	IP       string
}

// pages names every page and pairs it with sample data, one sample for each
// branch worth reaching. Parse executes each page with every sample so that a
// misspelt field, which html/template only notices when it executes the
// branch that holds it, fails start-up instead of a person's request. All
// samples of a page share its data type; the first one names it.
func pages() map[string][]any {
	t := time.Unix(0, 0)
	return map[string][]any{
		"login": {
			LoginPage{Error: "x", Notice: "x", Reauth: true, Email: "x", AuthRequestID: "x"},
			LoginPage{AppName: "x", PasskeyOnly: true},
		},
		"second_factor": {
			SecondFactorPage{AppName: "x", Email: "x", Error: "x"},
			SecondFactorPage{UseRecovery: true, AppName: "x", Error: "x", CanTrust: true},
			SecondFactorPage{CanTrust: true},
		},
		"recover": {RecoverPage{AuthRequestID: "x", Email: "x", Error: "x"}},
		"reauth": {
			ReauthPage{Base: Base{Email: "x"}, Description: "x", HasPassword: true, HasTOTP: true, HasPasskey: true, Error: "x"},
			ReauthPage{HasPasskey: true, PasskeyOnly: true},
		},
		"security": {
			SecurityPage{
				Base:       Base{SignedIn: true, Email: "a@example.com"},
				Name:       "A",
				Flash:      "x",
				Error:      "x",
				Restricted: true,
				Passkeys: []PasskeyView{
					{ID: "x", Name: "x", CreatedAt: t, LastUsedAt: &t, Synced: true, Authenticator: "x"},
					{ID: "y", CreatedAt: t},
				},
				TOTPSetup:        &TOTPSetupView{QRDataURL: "data:image/png;base64,", Secret: "x", Error: "x"},
				Recovery:         RecoveryView{HasSet: true, Total: 10, Remaining: 2, CreatedAt: t},
				NewRecoveryKeys:  []string{"x"},
				RecoveryDownload: "data:text/plain;base64,",
				HasPassword:      true,
			},
			SecurityPage{TOTPEnabled: true, HasPassword: true, CanRemovePassword: true,
				Recovery: RecoveryView{HasSet: true, Total: 10, Remaining: 0}},
			SecurityPage{},
			// Advanced security: off with nothing met, off with some met and
			// keys waiting to be typed back, off and ready, and on (also in a
			// recovery session, which hides the way out).
			SecurityPage{Advanced: AdvancedView{Error: "x"}},
			SecurityPage{Passkeys: []PasskeyView{{ID: "x", CreatedAt: t}}, NewRecoveryKeys: []string{"x"},
				Advanced: AdvancedView{PasskeyStepUp: true, TwoPasskeys: true, RecoveryPending: true, Error: "x"}},
			SecurityPage{Advanced: AdvancedView{PasskeyStepUp: true, TwoPasskeys: true, SyncedPasskey: true, RecoverySaved: true, Ready: true}},
			SecurityPage{TOTPEnabled: true, TOTPSetup: &TOTPSetupView{}, HasPassword: true, CanRemovePassword: true,
				Advanced: AdvancedView{On: true, Since: t, Error: "x"}},
			SecurityPage{Restricted: true, Advanced: AdvancedView{On: true}},
			// A suspended passkey: beside another passkey and a password with
			// an authenticator app, and as the account's only way in.
			SecurityPage{HasPassword: true, TOTPEnabled: true, UsablePasskey: true,
				Passkeys: []PasskeyView{{ID: "x", Name: "x", CreatedAt: t, Suspended: true}, {ID: "y", CreatedAt: t}},
				Advanced: AdvancedView{SuspendedPasskey: true}},
			SecurityPage{Passkeys: []PasskeyView{{ID: "x", CreatedAt: t, Suspended: true}}},
		},
		"logout_confirm": {LogoutConfirmPage{AppName: "x"}},
		"logged_out":     {LoggedOutPage{}},
		"consent":        {ConsentPage{AppName: "x", AuthRequestID: "x", Permissions: []string{"x"}}},
		"error":          {ErrorPage{Status: http.StatusBadRequest}},
		"unavailable":    {UnavailablePage{Retry: "/account"}, UnavailablePage{}},
		"account": {AccountPage{
			Base:       Base{SignedIn: true, Email: "a@example.com"},
			Name:       "A",
			SignedInAt: t,
			Methods:    []string{"Password"},
			Device:     "x",
		}},
		"sessions": {
			SessionsPage{
				Base:  Base{SignedIn: true, Email: "a@example.com"},
				Name:  "A",
				Flash: "x",
				Error: "x",
				Total: 120, NextPage: "/account/sessions?page=3", PrevPage: "/account/sessions?page=1",
				Devices: []DeviceView{
					{ID: "a", Name: "x", Kind: "desktop", Location: "x", SignedInAt: t, LastActiveAt: t, Method: "x", Trusted: true, Current: true,
						Apps: []AppView{{ID: "a", Name: "x", SignedInAt: t, LastActiveAt: t}}},
					{ID: "b", Name: "x", Kind: "phone", Location: "x", SignedInAt: t, LastActiveAt: t, Method: "x", Trusted: true,
						Apps: []AppView{{ID: "b", Name: "x", SignedInAt: t}}},
					{ID: "c", Kind: "tablet"},
					{ID: "d", Kind: "app"},
					{ID: "e", Kind: "unknown"},
				},
				Ended: []EndedView{
					{Name: "x", Kind: "desktop", Location: "x", EndedAt: t, Reason: "x", Apps: []EndedAppView{
						{Name: "x", Delivery: "delivered"}, {Name: "x", Delivery: "pending"},
						{Name: "x", Delivery: "failed"}, {Name: "x"},
					}},
					{Kind: "phone"}, {Kind: "tablet"}, {Kind: "app"}, {},
				},
			},
			SessionsPage{Devices: []DeviceView{{ID: "a", Current: true}}},
			SessionsPage{Devices: []DeviceView{{ID: "a"}}},
			SessionsPage{},
		},
		"activity": {
			ActivityPage{
				Base: Base{SignedIn: true, Email: "a@example.com"},
				Name: "A",
				Events: []EventView{
					{At: t, Kind: "signin", Title: "x", Detail: "x", Device: "x", Location: "x", IP: "x"},
					{At: t, Kind: "new_device", Title: "x"},
					{At: t, Kind: "ended", Title: "x"},
					{At: t, Kind: "credential", Title: "x"},
					{At: t, Kind: "recovery", Title: "x"},
					{At: t, Kind: "lock", Title: "x"},
					{At: t, Kind: "other", Title: "x"},
				},
			},
			ActivityPage{},
		},
	}
}

// Set holds every parsed page. It is safe for concurrent use.
type Set struct {
	// Logger receives render failures. Nil means slog.Default().
	Logger *slog.Logger

	// Now is the clock that relative times ("Active 5 minutes ago") and
	// the activity page's "Today" and "Yesterday" are measured from. Nil
	// means time.Now.
	Now func() time.Time

	pages map[string]page
}

// page is one parsed page and the data type it is written for.
type page struct {
	tmpl *template.Template
	data reflect.Type
}

// Parse parses every page with the shared layout and test-renders each one,
// returning an error that names a broken page, so that latch
// refuses to start rather than failing on a person's request.
func Parse() (*Set, error) {
	assets, err := assetVersions()
	if err != nil {
		return nil, err
	}
	// The set exists before its templates so that the clock-reading
	// functions can close over it and follow a Now set after Parse.
	s := &Set{pages: make(map[string]page)}
	funcs := template.FuncMap{
		// asset returns the URL of a static file with a content hash in the
		// query, so Static can let browsers cache for a year and a new
		// release is still fetched at once.
		"asset": func(name string) (string, error) {
			v, ok := assets[name]
			if !ok {
				return "", fmt.Errorf("templates: no static asset %q", name)
			}
			return "/static/" + name + "?v=" + v, nil
		},
		"initials":   initials,
		"longDate":   func(t time.Time) string { return t.UTC().Format("2 January 2006, 15:04 MST") },
		"shortDate":  func(t time.Time) string { return t.UTC().Format("2 Jan 2006") },
		"group4":     group4,
		"isoTime":    func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"clock":      func(t time.Time) string { return t.UTC().Format("15:04") },
		"isoDate":    func(t time.Time) string { return t.UTC().Format(time.DateOnly) },
		"ago":        func(t time.Time) string { return ago(s.now(), t) },
		"byDay":      func(events []EventView) []eventDay { return byDay(s.now(), events) },
		"lowerFirst": lowerFirst,
		"deviceName": func(name string) string {
			if name == "" {
				return "Unknown device"
			}
			return name
		},
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(pageFiles, "html/layout.html")
	if err != nil {
		return nil, fmt.Errorf("templates: layout: %w", err)
	}
	for name, samples := range pages() {
		t, err := layout.Clone()
		if err != nil {
			return nil, fmt.Errorf("templates: %s: %w", name, err)
		}
		if _, err := t.ParseFS(pageFiles, "html/"+name+".html"); err != nil {
			return nil, fmt.Errorf("templates: %s: %w", name, err)
		}
		data := reflect.TypeOf(samples[0])
		for i, sample := range samples {
			if reflect.TypeOf(sample) != data {
				return nil, fmt.Errorf("templates: %s: sample %d is a %T, want %v", name, i, sample, data)
			}
			if err := t.ExecuteTemplate(io.Discard, "layout", sample); err != nil {
				return nil, fmt.Errorf("templates: %s: sample %d: %w", name, i, err)
			}
		}
		s.pages[name] = page{tmpl: t, data: data}
	}
	return s, nil
}

// Render writes the named page with the given status. It executes into a
// buffer first so that a template error answers with a clean 500 instead of
// half a page under a 200 status.
//
// Pages carry CSRF tokens and personal data, so Render marks them no-store
// unless the handler has already chosen a Cache-Control.
func (s *Set) Render(w http.ResponseWriter, status int, name string, data any) {
	if status == 0 {
		status = http.StatusOK
	}
	var buf bytes.Buffer
	err := s.execute(&buf, name, data)
	if err != nil {
		s.logger().Error("render page", "page", name, "err", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "Something went wrong on our side. Please try again.\n")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("X-Content-Type-Options", "nosniff")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// execute renders the page after checking that data is the page's own type
// (or a pointer to it). html/template would happily render a sign-in form
// from nil data, with an empty CSRF token; a wrong type is a wiring mistake
// and should fail loudly in the first test that meets it.
func (s *Set) execute(w io.Writer, name string, data any) error {
	p, ok := s.pages[name]
	if !ok {
		return fmt.Errorf("templates: no page named %q", name)
	}
	v := reflect.ValueOf(data)
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if !v.IsValid() || v.Type() != p.data {
		return fmt.Errorf("templates: page %q needs %v, got %T", name, p.data, data)
	}
	return p.tmpl.ExecuteTemplate(w, "layout", v.Interface())
}

func (s *Set) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Set) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// RetryAfter is the Retry-After, in seconds, of latch's 503 answers while
// its database is away.
const RetryAfter = "2"

// Unavailable answers 503 with the unavailable page: latch could not ask
// its database, so it cannot tell whether the person is signed in or what
// their request would do, and says neither. Loading the page again is
// offered after a GET; after a POST the person resends the form.
func (s *Set) Unavailable(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Retry-After", RetryAfter)
	h.Set("Cache-Control", "no-store")
	p := UnavailablePage{Base: Base{Title: "Try again in a moment"}}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if u := r.URL.RequestURI(); strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//") && !strings.HasPrefix(u, "/\\") {
			p.Retry = u
		}
	}
	s.Render(w, http.StatusServiceUnavailable, "unavailable", p)
}

// initials returns up to two letters for the avatar on the account page: the
// first letters of the first and last words of the name, or the first letter
// of the email when there is no name.
func initials(name, email string) string {
	words := strings.FieldsFunc(name, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	first := func(s string) string {
		r, _ := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError {
			return ""
		}
		return string(unicode.ToUpper(r))
	}
	switch len(words) {
	case 0:
		return first(email)
	case 1:
		return first(words[0])
	default:
		return first(words[0]) + first(words[len(words)-1])
	}
}

// ago says how long before now t was, the way a person would: "just now",
// "5 minutes ago", "3 hours ago", "yesterday", "4 days ago", then the date.
// Days are counted in UTC, like every date latch shows. A time in the
// future, which a skewed clock can produce, reads as "just now".
func ago(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return count(int(d/time.Minute), "minute") + " ago"
	case d < 24*time.Hour:
		return count(int(d/time.Hour), "hour") + " ago"
	}
	switch days := daysBetween(t, now); {
	case days <= 1:
		return "yesterday"
	case days < 7:
		return count(days, "day") + " ago"
	}
	return t.UTC().Format("2 Jan 2006")
}

func count(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// daysBetween counts the UTC midnights between a and b.
func daysBetween(a, b time.Time) int {
	day := func(t time.Time) time.Time {
		y, m, d := t.UTC().Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	return int(day(b).Sub(day(a)).Hours() / 24)
}

// eventDay is one day of the activity page's timeline.
type eventDay struct {
	Label  string    // "Today", "Yesterday" or "27 November 2026"
	Date   time.Time // midnight UTC, for <time datetime>
	Events []EventView
}

// byDay groups a history that is newest first into days, keeping its order.
// Days are UTC days, the zone the page's times are given in.
func byDay(now time.Time, events []EventView) []eventDay {
	var out []eventDay
	for _, e := range events {
		y, m, d := e.At.UTC().Date()
		date := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		if n := len(out); n > 0 && out[n-1].Date.Equal(date) {
			out[n-1].Events = append(out[n-1].Events, e)
			continue
		}
		label := date.Format("2 January 2006")
		switch daysBetween(date, now) {
		case 0:
			label = "Today"
		case 1:
			label = "Yesterday"
		}
		out = append(out, eventDay{Label: label, Date: date, Events: []EventView{e}})
	}
	return out
}

// lowerFirst lowers the first letter of a label so that it can follow
// other words ("Signed in with " + "passkey"), unless the first word holds
// another capital and so is an acronym or a name ("TOTP", "YubiKey").
func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError || !unicode.IsUpper(r) {
		return s
	}
	word := s[n:]
	if i := strings.IndexFunc(word, unicode.IsSpace); i >= 0 {
		word = word[:i]
	}
	if strings.ContainsFunc(word, unicode.IsUpper) {
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}

// group4 splits a TOTP secret into groups of four characters, the way
// authenticator apps ask for it to be typed. Spaces and padding in the input
// are dropped first.
func group4(secret string) []string {
	secret = strings.TrimRight(strings.ReplaceAll(secret, " ", ""), "=")
	var out []string
	for len(secret) > 4 {
		out = append(out, secret[:4])
		secret = secret[4:]
	}
	if secret != "" {
		out = append(out, secret)
	}
	return out
}

// contentType pins the content type of every kind of file we embed, so the
// answer does not depend on the host's mime.types.
func contentType(ext string) (string, bool) {
	switch ext {
	case ".css":
		return "text/css; charset=utf-8", true
	case ".js":
		return "text/javascript; charset=utf-8", true
	case ".svg":
		return "image/svg+xml", true
	case ".png":
		return "image/png", true
	case ".woff2":
		return "font/woff2", true
	}
	return "", false
}

type asset struct {
	body        []byte
	contentType string
	etag        string
}

// assetVersions returns a short content hash for every embedded static file.
func assetVersions() (map[string]string, error) {
	all, err := loadAssets()
	if err != nil {
		return nil, err
	}
	v := make(map[string]string, len(all))
	for name, a := range all {
		v[name] = strings.Trim(a.etag, `"`)
	}
	return v, nil
}

func loadAssets() (map[string]asset, error) {
	all := make(map[string]asset)
	err := fs.WalkDir(staticFiles, "static", func(file string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := strings.TrimPrefix(file, "static/")
		ext := path.Ext(name)
		ct, ok := contentType(ext)
		if !ok {
			return fmt.Errorf("templates: static/%s: no content type for %q", name, ext)
		}
		body, err := staticFiles.ReadFile(file)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		all[name] = asset{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:6]) + `"`}
		return nil
	})
	return all, err
}

// Static serves the embedded assets. Mount it at "/static/" without
// http.StripPrefix. Pages link assets with a content hash in the query, so a
// year of caching is safe: a changed file gets a new URL.
func Static() http.Handler {
	all, err := loadAssets()
	if err != nil {
		// The embedded files are fixed at build time and the tests load
		// them, so this is a build defect rather than a runtime condition.
		panic(err)
	}
	return staticHandler{assets: all}
}

type staticHandler struct{ assets map[string]asset }

func (h staticHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "Method not allowed.", http.StatusMethodNotAllowed)
		return
	}
	a, ok := h.assets[strings.TrimPrefix(r.URL.Path, "/static/")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	hdr.Set("ETag", a.etag)
	hdr.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
