// Package templates owns latch's HTML pages and the static assets they link
// to: the sign-in, sign-out and account pages, their shared layout, and the
// stylesheet.
//
// Everything is embedded in the binary and parsed once by [Parse] at start, so
// a broken template stops latch before it serves a request rather than when a
// person first opens the page. Handlers in authn, idp and sessions fill one of
// the page structs defined here and call [Set.Render]; cmd/latch mounts
// [Static] at "/static/".
//
// The pages work without JavaScript and carry no inline script or style: the
// Content-Security-Policy that latch sends forbids both, and every rule lives
// in static/latch.css.
package templates
