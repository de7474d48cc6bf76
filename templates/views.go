package templates

import (
	"html/template"
	"time"
)

// Base is embedded in every page's data. The layout reads it as .Base, never
// through promoted fields, so a page's own field of the same name (the email
// typed into the sign-in form, say) can never stand in for the signed-in
// account in the header.
type Base struct {
	Title     string // <title> and heading context
	CSRFToken string // value for hidden input name="csrf_token" in every POST form
	SignedIn  bool   // shows "Account" and "Sign out" in the header when true
	Email     string // the signed-in account's email, shown in the header when SignedIn

	// Zone is the person's time zone, which pages give times in. Render
	// sets it from the browser's word (see TimeZones); handlers leave it
	// alone. Nil means not known: times are in UTC and say so.
	Zone *time.Location
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
	Description string // what is waiting, under the heading "Confirm it's you": e.g. "To remove a passkey, latch needs a recent sign-in."
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
	// NewRecoveryForAdvanced says NewRecoveryKeys were generated to turn
	// advanced security on: the box leads on to typing one back there.
	// Keys generated from the recovery keys panel lead nowhere else.
	NewRecoveryForAdvanced bool

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
	// "5 minutes". Empty means the defaults of docs/design.md §Policies P1
	// and P2.
	SessionLimit, IdleLimit, StepUpWindow string
}

// Limits returns the section's policy phrases, with the defaults of
// docs/design.md §Policies P1 and P2 where the handler gave none.
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

// ConsentPage asks a person to let an app that is not one of latch's own
// (first_party: false) sign them in and see what it asked for.
type ConsentPage struct {
	Base
	AppName       string
	AuthRequestID string   // hidden auth_request
	Permissions   []string // what the app asks for, in words
}

// LoggedOutPage is shown after a sign-out that has nowhere else to go.
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
	Name  string // the account's display name, for the page head
	Flash string // a sentence saying what the last action did (role="status"), e.g. "Signed out of Firefox on Linux and Safari on iPhone."
	// FlashEnd, when set, puts an "End session" button for that device
	// session in the flash: after one app was signed out on it, the rest
	// of the session is one click away.
	FlashEnd *DeviceView
	Error    string       // role="alert"
	Devices  []DeviceView // this device first, then the others by last activity
	Ended    []EndedView  // recently ended (30 days), newest first
	// Total is how many live device sessions the account has; Devices is
	// one page of them. NextPage and PrevPage link the neighbouring pages.
	Total    int
	NextPage string
	PrevPage string
	// Agents are the agents acting for the person, newest first; each
	// also appears under the device it was started from (DeviceView.Agents).
	Agents []AgentView
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

// OthersTotal is how many live sessions the account has besides this
// one, on this page or others: what "Sign out all other sessions" ends.
func (p SessionsPage) OthersTotal() int {
	total := max(p.Total, len(p.Devices))
	if p.ThisDevice() != nil {
		return total - 1
	}
	return total
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
	ID   string // opaque device session id, used in the URLs
	Name string // the name the person gave it, else latch's: "Chrome on macOS", "Safari on iPhone", "Codex CLI"
	// Detected is latch's name for a device the person renamed, shown
	// beside theirs so a renamed session still says what it is.
	Detected   string
	CustomName string // the name the person gave it, or "": the rename form's value
	Kind       string // "desktop", "phone", "tablet", "app" or "unknown": picks the icon
	// SessionKind is "browser", "cli" or "native": a command-line or
	// desktop sign-in says so, and names the device it was approved on.
	SessionKind  string
	ApprovedOn   string // "Chrome on macOS"; empty for browser sessions
	Location     string // "London, England, United Kingdom" or "Unknown location"
	SignedInAt   time.Time
	LastActiveAt time.Time
	Method       string // how the session was created: "Passkey", "Password and authenticator app", "Password", "Recovery key"
	// ConfirmedWith and ConfirmedAt are the latest confirmation after the
	// sign-in (a step-up, a fresh sign-in for an app), e.g. "a passkey";
	// "" when there was none.
	ConfirmedWith string
	ConfirmedAt   time.Time
	Trusted       bool        // a trusted device: a "Trusted" chip and a "Stop trusting" form
	Current       bool        // the device the page is shown on: "This device", no checkbox, "Sign out"
	Apps          []AppView   // the apps signed in on it
	Agents        []AgentView // the agents started from it (listed in full in SessionsPage.Agents)
}

// AgentView is an agent acting for the person with a delegated token,
// started by an app from one of their device sessions, in plain words:
// "Codex task runner — acting for you since 09:12, started from ChatGPT on
// Chrome on macOS, may read your files and open pull requests".
type AgentView struct {
	ID          string // opaque agent session id, used in the URLs
	Name        string // "Codex task runner"
	StartedBy   string // the app that started it: "ChatGPT"
	Device      string // the device it was started from: "Chrome on macOS"
	From        string // "started from …": "ChatGPT on Chrome on macOS", "Codex CLI on ada-laptop · Linux" (sessions.StartedFrom)
	DeviceKind  string // picks the icon, as DeviceView.Kind
	Location    string // the device's approximate place
	ThisDevice  bool   // started from the device the page is shown on
	May         string // what it may do, in words: "read your files and open pull requests"
	Note        string // where it runs, as the starting app reported it (may be empty)
	StartedAt   time.Time
	LastActedAt time.Time // its last exchange, refresh or introspection
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
	Name     string // device name (the person's, when they gave one)
	Kind     string
	Location string
	EndedAt  time.Time
	Reason   string // a sentence fragment: "Signed out", "Ended from Chrome on macOS", "Expired", ...
	Apps     []EndedAppView
}

// EndedAppView is an app that was signed in on an ended session, with the
// state of the back-channel logout message sent to it.
type EndedAppView struct {
	Name     string
	Agent    bool      // an agent that was acting there, stopped with the session
	Delivery string    // "delivered", "pending", "failed", or "" when the app takes no back-channel logout
	NextTry  time.Time // pending: when it is tried again (zero: being sent now)
	Attempts int       // tries so far
}

// ConfirmEndPage asks before ending sessions when the sessions page's own
// dialog could not (no script): it names every device that would end, and
// posts the same choice again with confirm=1.
type ConfirmEndPage struct {
	Base
	Heading string       // "End 2 sessions?", "Sign out of all other sessions?"
	Action  string       // where the confirmed form posts
	IDs     []string     // hidden inputs name="ids"; empty for all others
	Devices []DeviceView // what ends, by name, place and apps
	More    int          // how many more end than Devices shows
	Button  string       // "End 2 sessions"
}

// ReportedPage follows "This wasn't me": it says what latch did (the
// session ended, its trusted mark forgotten) and walks the person through
// what is left, each step with its state worked out from the account.
type ReportedPage struct {
	Base
	Name   string
	Flash  string     // what the last form did (role="status")
	Device DeviceView // the session reported, as it was
	Steps  []ReportStep
	// Others are the live sessions besides this one, named in the "sign
	// out all other sessions" step, whose form posts them confirmed.
	Others     []DeviceView
	OthersMore int
	Back       string // the page's own path, for the forms to return to
}

// ReportStep is one step of the checklist after a report.
type ReportStep struct {
	ID     string // "password", "credentials", "sessions", "activity": the anchor and the step's icon
	Title  string // "Change or remove your password"
	Done   bool
	State  string   // a sentence saying why it is done or what is left
	Items  []string // what is left, one line each (a passkey added since)
	Link   string   // where to do it
	Action string   // the link's words
}

// ActivityPage is /account/activity: the account's history, newest first,
// grouped by day on the page.
type ActivityPage struct {
	Base
	Name   string
	Events []EventView // newest first
}

// EventView is one entry of the activity history, a sentence: Title and
// Detail say what happened ("Session ended" "from Chrome on macOS"), Device
// and Location where. The IP address it came from is not in the list: it
// waits in a details disclosure.
type EventView struct {
	At       time.Time
	Kind     string // "signin", "new_device", "ended", "credential", "recovery", "lock", "app" or "other": picks the icon
	Title    string // "Signed in", "Passkey added", "Signed out of Alpha", ...
	Detail   string // "with a passkey", "from Chrome on macOS", ... (may be empty)
	Device   string // "Firefox on Windows" or ""
	Location string // "Berlin, Germany" or ""
	IP       string // shown only inside the event's details disclosure
}
