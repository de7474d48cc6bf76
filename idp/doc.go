// Package idp is latch's OpenID Provider: zitadel/oidc's op.Storage on
// PostgreSQL, the clients file, ES256 signing keys sealed with the master key,
// and the token rules the library leaves to its storage (PKCE S256 only,
// exact redirect URIs, single-use codes, rotating refresh tokens with reuse
// detection, session liveness on every token use). It also closes the
// library's protocol gaps at the HTTP layer: the iss authorization response
// parameter (RFC 9207), a discovery document that lists only what works, and
// the end_session confirmation page. For the connected apps page
// (account.ThirdPartyApps) it names the apps that are not latch's own and
// revokes their tokens; a code exchange of such an app holds its consent
// (kept by authn) until its tokens are written.
//
// internal/server builds it; it calls authn's interfaces' implementers through
// sessions and declares what it needs from the sign-in flow itself.
package idp
