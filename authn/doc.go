// Package authn owns accounts and their credentials and the sign-in flow: the
// /login page, password verification with argon2id, the per-account throttle
// and the per-address rate limit, the /account page and sign-out. It hands a
// finished sign-in to the identity provider through the small AuthRequests
// interface declared here, and keeps sessions through package sessions.
package authn
