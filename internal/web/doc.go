// Package web holds the HTTP plumbing that latch's people-facing handlers
// share: the guard every request passes first (body limits, refused
// multipart and bad text), CSRF protection, security headers, the client's
// address behind trusted proxies, a per-address rate limiter, cookies and
// request metrics.
// It knows nothing of accounts, sessions or OIDC; the domain packages call it.
package web
