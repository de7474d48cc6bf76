// Package authn owns accounts and their credentials and the sign-in flow: the
// /login page, password verification with argon2id, the per-account throttle
// and the per-address rate limit, the consent page and sign-out. It hands a
// finished sign-in to the identity provider through the small AuthRequests
// interface declared here, and keeps sessions through package sessions.
// Every path that checks a secret, here and in package account, goes
// through one guard (Handler.Guard, guard.go), which answers with a typed
// Refusal. The person's own pages (package account) check a step-up with
// CheckStepUp and change credentials through the stores here (Accounts,
// Passkeys, TOTP).
package authn
