package main

import (
	"errors"

	"github.com/latch-idp/latch/authn"
	"github.com/latch-idp/latch/internal/notify"
	"github.com/latch-idp/latch/sessions"
)

// What the end-to-end tests read of latch's state, and the states they set
// up without a browser, each through the methods of the package that owns
// the table (docs/tables.md), as the server wired them: never with SQL of
// their own.

// accountID is the id of the account with this email.
func (l *testLatch) accountID(email string) string {
	l.t.Helper()
	a, err := l.srv.Accounts().ByEmail(l.t.Context(), email)
	if err != nil {
		l.t.Fatalf("account %s: %v", email, err)
	}
	return a.ID
}

// activity is the account's whole history, newest first.
func (l *testLatch) activity(accountID string) []sessions.HistoryEvent {
	l.t.Helper()
	events, err := l.srv.Sessions().History(l.t.Context(), accountID, 1_000_000)
	if err != nil {
		l.t.Fatal(err)
	}
	return events
}

// countActivity counts the account's history events that keep says.
func (l *testLatch) countActivity(accountID string, keep func(e sessions.HistoryEvent) bool) int {
	l.t.Helper()
	n := 0
	for _, e := range l.activity(accountID) {
		if keep(e) {
			n++
		}
	}
	return n
}

// ofKind keeps the events of one kind.
func ofKind(kind sessions.EventKind) func(sessions.HistoryEvent) bool {
	return func(e sessions.HistoryEvent) bool { return e.Kind == kind }
}

// alerts are the account's alerts in the outbox, sent or not, oldest first.
func (l *testLatch) alerts(accountID string) []notify.Queued {
	l.t.Helper()
	list, err := l.srv.Notifier().Messages(l.t.Context(), accountID)
	if err != nil {
		l.t.Fatal(err)
	}
	return list
}

// countAlerts counts the account's alerts that keep says.
func (l *testLatch) countAlerts(accountID string, keep func(m notify.Queued) bool) int {
	l.t.Helper()
	n := 0
	for _, m := range l.alerts(accountID) {
		if keep(m) {
			n++
		}
	}
	return n
}

// withSubject keeps the alerts with this subject.
func withSubject(subject string) func(notify.Queued) bool {
	return func(m notify.Queued) bool { return m.Subject == subject }
}

// passkeys are the account's passkeys, oldest first.
func (l *testLatch) passkeys(accountID string) []authn.Passkey {
	l.t.Helper()
	list, err := l.srv.Passkeys().List(l.t.Context(), accountID)
	if err != nil {
		l.t.Fatal(err)
	}
	return list
}

// addPasskey stores a passkey for an account as a registration would,
// without the ceremony.
func (l *testLatch) addPasskey(pk *authn.Passkey) {
	l.t.Helper()
	if pk.CreatedAt.IsZero() {
		pk.CreatedAt = l.clock.Now().UTC()
	}
	if err := l.srv.Passkeys().Add(l.t.Context(), l.srv.Passkeys().DB, pk); err != nil {
		l.t.Fatal(err)
	}
}

// endReason is why the device session sid ended, "" while it is live.
func (l *testLatch) endReason(sid string) sessions.EndReason {
	l.t.Helper()
	reason, err := l.srv.Sessions().EndedWith(l.t.Context(), sid)
	if err != nil {
		l.t.Fatalf("session %s: %v", sid, err)
	}
	return reason
}

// device is the live device session sid as the sessions page lists it,
// with its live apps.
func (l *testLatch) device(sid string) sessions.DeviceRecord {
	l.t.Helper()
	d, err := l.srv.Sessions().Get(l.t.Context(), sid)
	if err != nil {
		l.t.Fatalf("session %s: %v", sid, err)
	}
	page, _, err := l.srv.Sessions().Devices(l.t.Context(), d.AccountID, sid, 0, 1)
	if err != nil || len(page) == 0 || page[0].ID != sid {
		l.t.Fatalf("session %s is not listed (%v)", sid, err)
	}
	return page[0]
}

// devices are the account's live device sessions, as the sessions page
// lists them.
func (l *testLatch) devices(accountID string) []sessions.DeviceRecord {
	l.t.Helper()
	list, _, err := l.srv.Sessions().Devices(l.t.Context(), accountID, "", 0, -1)
	if err != nil {
		l.t.Fatal(err)
	}
	return list
}

// sessionCount counts the account's device sessions, live and ended (the
// clock of the tests that count stays within the 30 days ended ones are
// kept).
func (l *testLatch) sessionCount(accountID string) int {
	l.t.Helper()
	live, err := l.srv.Sessions().LiveIDs(l.t.Context(), accountID)
	if err != nil {
		l.t.Fatal(err)
	}
	ended, err := l.srv.Sessions().Ended(l.t.Context(), accountID, 1<<30)
	if err != nil {
		l.t.Fatal(err)
	}
	return len(live) + len(ended)
}

// usedRecoveryKeys counts the used keys of the account's recovery key set
// (a new set replaces the old one).
func (l *testLatch) usedRecoveryKeys(accountID string) int {
	l.t.Helper()
	st, err := l.srv.Recovery().Status(l.t.Context(), accountID)
	if err != nil {
		l.t.Fatal(err)
	}
	return st.Total - st.Remaining
}

// logouts are the back-channel logouts written for the account's
// sessions, oldest first.
func (l *testLatch) logouts(accountID string) []sessions.Logout {
	l.t.Helper()
	list, err := l.srv.Sessions().Logouts(l.t.Context(), accountID)
	if err != nil {
		l.t.Fatal(err)
	}
	return list
}

// makeAdvanced puts an account under advanced security as enrolment
// does (its password and authenticator app deleted), without the
// conditions and ceremonies.
func (l *testLatch) makeAdvanced(accountID string) {
	l.t.Helper()
	ctx := l.t.Context()
	if err := l.srv.Sessions().Transact(ctx, func(tx *sessions.Tx) error {
		return l.srv.Accounts().EnterAdvancedTx(ctx, tx, accountID, l.clock.Now().UTC())
	}); err != nil {
		l.t.Fatal(err)
	}
}

// isEnded reports whether the device session sid has ended.
func (l *testLatch) isEnded(sid string) bool {
	l.t.Helper()
	reason, err := l.srv.Sessions().EndedWith(l.t.Context(), sid)
	if errors.Is(err, sessions.ErrNotFound) {
		return false
	}
	if err != nil {
		l.t.Fatal(err)
	}
	return reason != ""
}
