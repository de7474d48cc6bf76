package authn

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latch-idp/latch/internal/notify"
	"github.com/latch-idp/latch/internal/pg"
	"github.com/latch-idp/latch/sessions"
)

// Alerts tell a person by email about what happened to their account:
// sign-ins from new devices (every sign-in for advanced accounts), recovery
// key uses, advanced security turned on or off, passkeys added or removed,
// an app's access removed.
// They go through the outbox in the transaction of the change, so none is
// lost and none announces what did not happen.

// alert queues a for acct inside tx, the transaction of the change it
// announces.
func (h *Handler) alert(ctx context.Context, tx pgx.Tx, acct *Account, a alertDraft) error {
	if !h.Notify {
		return nil
	}
	return notify.Queue(ctx, tx, h.Now(), a.Alert.Message(acct.ID, acct.Email, a.Subject))
}

// The alerts of the changes package account makes, queued inside tx, the
// transaction of the change they announce.

// AlertPasskey announces a passkey added to acct, or removed (added false).
func (h *Handler) AlertPasskey(ctx context.Context, tx pgx.Tx, r *http.Request, acct *Account, name string, added bool) error {
	return h.alert(ctx, tx, acct, alertPasskey(h, r, acct, name, added))
}

// AlertPasskeyReinstated announces a suspended passkey its owner confirmed.
func (h *Handler) AlertPasskeyReinstated(ctx context.Context, tx pgx.Tx, r *http.Request, acct *Account, name string) error {
	return h.alert(ctx, tx, acct, alertPasskeyReinstated(h, r, name))
}

// AlertAdvancedOn announces advanced security turned on, and how many
// other sessions that ended.
func (h *Handler) AlertAdvancedOn(ctx context.Context, tx pgx.Tx, acct *Account, ended int) error {
	return h.alert(ctx, tx, acct, alertAdvancedOn(h, acct, ended))
}

// AlertAdvancedOff announces advanced security turned off.
func (h *Handler) AlertAdvancedOff(ctx context.Context, tx pgx.Tx, acct *Account) error {
	return h.alert(ctx, tx, acct, alertAdvancedOff(h, acct))
}

// AlertOrigin is the device a change was made from, as an alert names it;
// empty when latch could not tell.
type AlertOrigin struct {
	Device string // "Chrome on macOS"
	Place  string // "London, England, United Kingdom"
}

// AlertAppRemoved announces that acct removed the access of the app name
// (one that is not latch's own), which was signed out on signedOut
// devices; from is the device of the session that removed it.
func (h *Handler) AlertAppRemoved(ctx context.Context, tx pgx.Tx, acct *Account, name string, signedOut int, from AlertOrigin) error {
	return h.alert(ctx, tx, acct, alertAppRemoved(h, name, signedOut, from))
}

func alertAppRemoved(h *Handler, name string, signedOut int, from AlertOrigin) alertDraft {
	lines := []string{name + " can no longer use your latch account. If it asks again, latch will ask you first."}
	switch {
	case signedOut == 1:
		lines = append(lines, name+" was signed out on 1 device.")
	case signedOut > 1:
		lines = append(lines, fmt.Sprintf("%s was signed out on %d devices.", name, signedOut))
	}
	facts := [][2]string{{"App", name}}
	if from.Device != "" {
		facts = append(facts, [2]string{"Removed from", from.Device}, [2]string{"Where", from.Place})
	}
	facts = append(facts, [2]string{"When", when(h.Now())})
	return alertDraft{Subject: "An app's access to your account was removed", Alert: notify.Alert{
		Heading: "Access removed: " + name,
		Lines:   lines,
		Facts:   facts,
		Action:  "Review your connected apps", URL: h.link("/account/apps"),
		Footer: "If you didn't do this, open your sessions page, end any session you don't recognise, and change your credentials.",
	}}
}

type alertDraft struct {
	Subject string
	notify.Alert
}

func (h *Handler) link(path string) string { return strings.TrimSuffix(h.Issuer, "/") + path }

func when(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04 UTC") }

// where describes the browser of a request for an alert.
func (h *Handler) where(r *http.Request) (device, place string) {
	device = sessions.DescribeUserAgent(r.UserAgent()).Name
	place = h.Sessions.Locator.Locate(h.ClientIP.Addr(r)).String()
	return device, place
}

const notYou = "If this wasn't you, open your sessions page, end that session, and change your credentials."

func alertSignIn(h *Handler, r *http.Request, acct *Account, newDevice bool, method string) alertDraft {
	device, place := h.where(r)
	a := alertDraft{Subject: "New sign-in to your latch account", Alert: notify.Alert{
		Heading: "New sign-in to your account",
		Lines:   []string{"Your account was just used to sign in on " + device + "."},
		Facts:   [][2]string{{"Device", device}, {"Where", place}, {"When", when(h.Now())}, {"Method", method}},
		Action:  "Review your sessions", URL: h.link("/account/sessions"), Footer: notYou,
	}}
	if newDevice {
		a.Subject = "Sign-in from a new device"
		a.Heading = "Sign-in from a new device"
		a.Lines = []string{"Your account was just used to sign in on a device it hasn't used before: " + device + "."}
	}
	return a
}

// alertRecoveryUsed counts the keys left as q sees them: inside the
// transaction that spent one, without it.
func alertRecoveryUsed(ctx context.Context, h *Handler, q pg.Querier, r *http.Request, acct *Account) (alertDraft, error) {
	device, place := h.where(r)
	st, err := h.Recovery.StatusTx(ctx, q, acct.ID)
	if err != nil {
		return alertDraft{}, err
	}
	return alertDraft{Subject: "A recovery key was used", Alert: notify.Alert{
		Heading: "A recovery key was used",
		Lines: []string{"One of your recovery keys was just used to get into your account. That key no longer works.",
			fmt.Sprintf("You have %d unused recovery keys left.", st.Remaining)},
		Facts:  [][2]string{{"Device", device}, {"Where", place}, {"When", when(h.Now())}},
		Action: "Check your security settings", URL: h.link("/account/security"), Footer: notYou,
	}}, nil
}

func alertAdvancedOn(h *Handler, acct *Account, ended int) alertDraft {
	return alertDraft{Subject: "Advanced security is on", Alert: notify.Alert{
		Heading: "Advanced security is on",
		Lines: []string{"Your account now signs in with passkeys only. Your password and authenticator app were removed, and sessions last at most " +
			Words(h.Sessions.Policy[sessions.ModeAdvanced].Absolute) + ".",
			fmt.Sprintf("%d other sessions were signed out.", ended),
			"Only your recovery keys can get you back in if you lose your passkeys: nobody else can."},
		Facts:  [][2]string{{"When", when(h.Now())}},
		Action: "Open your security settings", URL: h.link("/account/security"),
		Footer: "If you didn't turn this on, sign in and review your passkeys now.",
	}}
}

func alertAdvancedOff(h *Handler, acct *Account) alertDraft {
	return alertDraft{Subject: "Advanced security is off", Alert: notify.Alert{
		Heading: "Advanced security is off",
		Lines:   []string{"Your account is back to standard security: longer sessions, and you may set a password again."},
		Facts:   [][2]string{{"When", when(h.Now())}},
		Action:  "Open your security settings", URL: h.link("/account/security"), Footer: notYou,
	}}
}

func alertPasskey(h *Handler, r *http.Request, acct *Account, name string, added bool) alertDraft {
	device, place := h.where(r)
	a := alertDraft{Subject: "A passkey was added to your account", Alert: notify.Alert{
		Heading: "A passkey was added",
		Lines:   []string{"The passkey “" + name + "” can now sign in to your account."},
		Facts:   [][2]string{{"Device", device}, {"Where", place}, {"When", when(h.Now())}},
		Action:  "Check your passkeys", URL: h.link("/account/security"), Footer: notYou,
	}}
	if !added {
		a.Subject, a.Heading = "A passkey was removed from your account", "A passkey was removed"
		a.Lines = []string{"The passkey “" + name + "” can no longer sign in to your account."}
	}
	return a
}

func alertPasskeySuspended(h *Handler, r *http.Request, name string) alertDraft {
	device, place := h.where(r)
	return alertDraft{Subject: "A passkey on your account was suspended", Alert: notify.Alert{
		Heading: "A passkey was suspended",
		Lines: []string{"Your passkey “" + name + "” was just used with an out-of-date counter, which happens when a passkey is copied. " +
			"latch refused it, and it can't sign in until you confirm it's yours.",
			"If it's yours, open your security settings and choose “It's mine, keep it”: you'll confirm with another passkey, or your password and authenticator app code. " +
				"If you didn't expect this, remove it there and review your sessions.",
			"If it was your only way to sign in, use one of your recovery keys to get back in."},
		Facts:  [][2]string{{"Passkey", name}, {"Device", device}, {"Where", place}, {"When", when(h.Now())}},
		Action: "Check your passkeys", URL: h.link("/account/security#passkeys"),
	}}
}

func alertPasskeyReinstated(h *Handler, r *http.Request, name string) alertDraft {
	device, place := h.where(r)
	return alertDraft{Subject: "A suspended passkey was confirmed", Alert: notify.Alert{
		Heading: "A suspended passkey was confirmed",
		Lines:   []string{"You confirmed that the passkey “" + name + "” is yours. It can sign in to your account again."},
		Facts:   [][2]string{{"Device", device}, {"Where", place}, {"When", when(h.Now())}},
		Action:  "Check your passkeys", URL: h.link("/account/security#passkeys"), Footer: notYou,
	}}
}
