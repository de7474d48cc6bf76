// Package account serves what a signed-in person sees of their own
// account: the /account page, the security page (passkeys, authenticator
// app, recovery keys, password, suspended passkeys, advanced security),
// the step-up that a sensitive change asks for, the active sessions page
// and its JSON API, the connected apps page and its JSON API (the apps
// that are not latch's own and hold the person's consent), and the
// activity history.
//
// It holds no credential and no session of its own: package authn checks
// secrets (CheckStepUp, and its Guard for every other secret) and owns
// accounts and credentials, package sessions owns sessions and the
// history, and this package composes their methods into pages, each
// change in one transaction (sessions.Transact).
// The one table it owns is pending_changes: sensitive changes waiting for
// their step-up (Changes).
//
// A newcomer finds each page by its file: account_page.go,
// security_page.go, stepup.go, advanced.go, suspension.go,
// sessions_page.go (with agents_page.go: the agents acting for the
// person), apps_page.go, activity_page.go.
package account
