package web

import (
	"net/http"
	"strings"
	"time"
)

// Cookies names and sets latch's cookies consistently. Over https every
// cookie is Secure and carries the __Host- prefix, which pins it to the exact
// host and path "/"; over plain http (development) the bare name is used.
type Cookies struct {
	Secure bool
}

// The short names of latch's cookies (Cookies.Name gives the full one).
const (
	CookieSession  = "latch"  // the device session's secret
	CookieFlow     = "flow"   // a correct password waiting for its second factor, sealed
	CookieTrusted  = "td"     // a trusted device's secret, which skips the second factor
	CookieDevice   = "did"    // a browser's long-lived id: a device the account knows, or a new one
	CookieWebAuthn = "wa"     // ties WebAuthn challenges to this browser
	CookieReveal   = "reveal" // what the security page shows once, sealed
	CookieCSRF     = "csrf"   // the token that state-changing requests repeat
	CookieTimeZone = "tz"     // the browser's time zone, set by a script for the pages' times
	CookieReturn   = "return" // the /device page to come back to after signing in
	CookieNote     = "note"   // what the sessions page says once after one of its forms, sealed
	// CookieActivitySeen is when this browser last opened the activity
	// page, for the checklist after a report.
	CookieActivitySeen = "activity_seen"
)

// NewCookies returns cookie settings for the issuer URL: https means Secure.
func NewCookies(issuer string) *Cookies {
	return &Cookies{Secure: strings.HasPrefix(issuer, "https://")}
}

// Name returns the full cookie name for a short one: "latch" becomes
// "__Host-latch" on https.
func (c *Cookies) Name(short string) string {
	if short != CookieSession {
		short = "latch_" + short
	}
	if c.Secure {
		return "__Host-" + short
	}
	return short
}

// Set writes an HttpOnly, SameSite=Lax cookie. A zero maxAge makes a browser
// session cookie; the server enforces every expiry itself regardless.
func (c *Cookies) Set(w http.ResponseWriter, short, value string, maxAge time.Duration) {
	ck := &http.Cookie{
		Name:     c.Name(short),
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		Secure:   c.Secure,
		SameSite: http.SameSiteLaxMode,
	}
	if maxAge > 0 {
		ck.MaxAge = int(maxAge / time.Second)
	}
	http.SetCookie(w, ck)
}

// Clear deletes a cookie.
func (c *Cookies) Clear(w http.ResponseWriter, short string) {
	http.SetCookie(w, &http.Cookie{
		Name: c.Name(short), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: c.Secure, SameSite: http.SameSiteLaxMode,
	})
}

// Read returns a cookie's value.
func (c *Cookies) Read(r *http.Request, short string) (string, bool) {
	ck, err := r.Cookie(c.Name(short))
	if err != nil {
		return "", false
	}
	return ck.Value, true
}
