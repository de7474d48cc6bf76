package sessions

import (
	"fmt"
	"slices"
)

// The words latch stores and shows: an account's security mode, the
// method of a sign-in, the kind of an activity event. Each type holds the values the database keeps,
// which never change.

// SecurityMode is an account's security mode (docs/design.md §Policies
// P19), the key of a Policy and of the step-up windows.
type SecurityMode string

const (
	// ModeStandard is every account's mode until its owner turns advanced
	// security on.
	ModeStandard SecurityMode = "standard"
	// ModeAdvanced signs in with passkeys only, under shorter lifetimes.
	ModeAdvanced SecurityMode = "advanced"
)

// ParseSecurityMode reads a mode as the database keeps it. Any other value
// is an error, never a mode latch guesses.
func ParseSecurityMode(s string) (SecurityMode, error) {
	switch m := SecurityMode(s); m {
	case ModeStandard, ModeAdvanced:
		return m, nil
	}
	return "", fmt.Errorf("sessions: unknown security mode %q", s)
}

// Method is how a person proved who they are when signing in: the "method"
// of an activity event's detail, the words of the alerts and pages, and the
// label of latch_signins_total. It is the one place that names methods.
type Method string

const (
	MethodPassword Method = "password"
	MethodPasskey  Method = "passkey"
	// MethodPasswordTOTP is a password, then the authenticator app's code.
	MethodPasswordTOTP Method = "password+totp"
	// MethodPasswordRecoveryKey is a password, then a recovery key in place
	// of the authenticator app.
	MethodPasswordRecoveryKey Method = "password+recovery_key"
	// MethodRecoveryKey is a recovery key alone: the recovery sign-in of an
	// account that signs in with passkeys only.
	MethodRecoveryKey Method = "recovery_key"
	// MethodUserCode is a device's user code typed at /device: the secret
	// a wrong code's failure counts against (RFC 8628).
	MethodUserCode Method = "user_code"
)

// MethodOf says how a session signed in, from its amr (RFC 8176), or ""
// when the amr names no method latch offers. A recovery key as a second
// factor reads as the authenticator app: both are "otp" after "pwd".
func MethodOf(amr []string) Method {
	has := func(m string) bool { return slices.Contains(amr, m) }
	switch {
	case has("hwk") || has("swk"):
		return MethodPasskey
	case has("pwd") && has("otp"):
		return MethodPasswordTOTP
	case has("pwd"):
		return MethodPassword
	case has("otp"):
		return MethodRecoveryKey
	}
	return ""
}

// Title names the method on its own, as alerts and the sessions page do:
// "Passkey", "Password and authenticator app". An unknown method is
// "Unknown", or its own value when it has one.
func (m Method) Title() string {
	switch m {
	case MethodPasskey:
		return "Passkey"
	case MethodPassword:
		return "Password"
	case MethodPasswordTOTP:
		return "Password and authenticator app"
	case MethodPasswordRecoveryKey, MethodRecoveryKey:
		return "Recovery key"
	case MethodUserCode:
		return "Device code"
	case "":
		return "Unknown"
	}
	return string(m)
}

// Phrase names the method after "with", as the activity page does: "a
// passkey", "a password and authenticator app".
func (m Method) Phrase() string {
	switch m {
	case MethodPasskey:
		return "a passkey"
	case MethodPassword:
		return "a password"
	case MethodPasswordTOTP:
		return "a password and authenticator app"
	case MethodPasswordRecoveryKey, MethodRecoveryKey:
		return "a recovery key"
	case MethodUserCode:
		return "a wrong device code"
	}
	return string(m)
}

// Metric is the method's label in latch_signins_total: the secret checked
// at that step ("totp" for the code that follows a password).
func (m Method) Metric() string {
	switch m {
	case MethodPasswordTOTP:
		return "totp"
	case MethodPasswordRecoveryKey:
		return "recovery_key"
	}
	return string(m)
}

// FactorWords names each factor of amr for people, in order: "Password",
// "Authenticator app", "Passkey" (the account page's "signed in with").
func FactorWords(amr []string) []string {
	var out []string
	for _, m := range amr {
		switch m {
		case "pwd":
			out = append(out, "Password")
		case "otp":
			out = append(out, "Authenticator app")
		case "hwk", "swk":
			out = append(out, "Passkey")
		}
	}
	return out
}

// EventKind is what an activity event records: the kind column of the
// activity table, whose values never change.
type EventKind string

// The kinds of activity events. A sensitive change of the security page
// records the change's own name (passkey_rename, totp_remove, ...).
const (
	EventSignIn              EventKind = "signin"     // a sign-in from a browser the account knew
	EventNewDevice           EventKind = "new_device" // a sign-in from a browser it did not
	EventSignInFailed        EventKind = "signin_failed"
	EventSignInThrottled     EventKind = "signin_throttled" // the shared budget began slowing guesses down
	EventAccountLocked       EventKind = "account_locked"   // password sign-in locked after wrong second factors
	EventSessionEnded        EventKind = "session_ended"
	EventAppSessionEnded     EventKind = "app_session_ended"
	EventReportedNotMe       EventKind = "reported_not_me"
	EventStepUp              EventKind = "step_up"
	EventPasskeyAdded        EventKind = "passkey_added"
	EventPasskeyRenamed      EventKind = "passkey_rename"
	EventPasskeyRemoved      EventKind = "passkey_remove"
	EventPasskeyCloneRefused EventKind = "passkey_clone_refused"
	EventPasskeySuspended    EventKind = "passkey_suspended"
	EventPasskeyReinstated   EventKind = "passkey_reinstated"
	EventTOTPAdded           EventKind = "totp_added"
	EventTOTPRemoved         EventKind = "totp_remove"
	EventRecoveryGenerated   EventKind = "recovery_generate"
	EventRecoveryKeyUsed     EventKind = "recovery_key_used"
	EventPasswordSet         EventKind = "password_set"
	EventPasswordRemoved     EventKind = "password_remove"
	EventAdvancedOn          EventKind = "advanced_on"
	EventAdvancedOff         EventKind = "advanced_off"
	EventDeviceUntrusted     EventKind = "device_untrusted"
	EventDeviceRenamed       EventKind = "device_renamed"
	EventConsentGranted      EventKind = "consent_granted" // an app that is not latch's own allowed for the first time
	EventConsentWidened      EventKind = "consent_widened" // such an app allowed more scopes
	EventConsentRemoved      EventKind = "consent_removed" // its access removed from the connected apps page
	// A device (a command-line or desktop app) signed in with a code, or
	// refused (RFC 8628).
	EventDeviceApproved EventKind = "device_approved"
	EventDeviceDenied   EventKind = "device_denied"
)
