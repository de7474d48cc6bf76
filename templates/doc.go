// Package templates owns latch's HTML pages and the static assets they link
// to: the sign-in pages (password, passkey, second factor, recovery key), the
// step-up, the account, security, sessions and activity pages, sign-out,
// their shared layout and icons (html/parts/icons.html), the stylesheet,
// the passkey script, the sessions page's small selection script and the
// script that shows times in the person's own time zone.
//
// Everything is embedded in the binary and parsed once by [Parse] at start, so
// a broken template stops latch before it serves a request rather than when a
// person first opens the page. Each page is a [Page] value ([Login],
// [Security], [Sessions], ...) typed by its view model: handlers fill that
// struct and call [Set.Render] with, say, templates.Login.With(p), so a page
// given the wrong data does not compile. internal/server mounts [Static] at
// "/static/" and puts its routes behind [TimeZones].
//
// The pages carry no inline script or style: the Content-Security-Policy
// that latch sends forbids both, every rule lives in static/latch.css, and
// the scripts, static/passkeys.js, static/sessions.js and static/times.js,
// are external files. Everything that can work without JavaScript does
// (password, code and recovery-key forms, ending sessions one by one or
// ticked together);
// what cannot, the passkey ceremonies, the Copy buttons and "Select all",
// is marked with data attributes and stays hidden until a script finds the
// browser able and reveals it.
//
// Times are written in the person's time zone once their browser has
// named it (see [TimeZones]); until then, and without script, in UTC,
// labelled so. Every <time> keeps its UTC RFC 3339 datetime.
package templates
