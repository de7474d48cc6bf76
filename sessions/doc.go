// Package sessions owns device sessions and app sessions: creating one at
// sign-in, finding it from the session cookie, touching its last-active time,
// enforcing its idle and absolute lifetimes, and ending it together with its
// app sessions; trusted and known devices, back-channel logout jobs and the
// account's activity history. The identity provider (package idp), the
// sign-in flow (package authn) and the person's pages (package account) call
// it; it calls nothing above it and renders no page.
//
// A device session is one sign-in on one browser or device and is the OIDC
// SSO session: its id is the sid claim. An app session is one client's grant
// inside a device session; refresh and access tokens belong to it and die
// with it.
package sessions
