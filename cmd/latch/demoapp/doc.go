// Package demoapp is a small but real OpenID Connect relying party: the
// ChatGPT, Codex and Platform apps that `latch dev` starts beside the
// provider, and that end-to-end tests drive with a browser.
//
// It does what a careful first-party app does: the authorization code flow
// with PKCE S256, state and nonce; RFC 9207 issuer checking; ID token
// verification with github.com/coreos/go-oidc/v3; refresh-token rotation;
// RP-Initiated Logout; and OpenID Connect Back-Channel Logout 1.0, which is
// how an ended latch session reaches the app. Sessions live in memory, so a
// restart signs everyone out of the demo apps, which is fine for a demo.
//
// cmd/latch builds one [App] per demo client and serves it; nothing else in
// latch imports this package.
package demoapp
