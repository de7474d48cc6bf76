package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
)

// CSRFField is the name of the hidden form field, and CSRFHeader the name of
// the request header, that carry the CSRF token.
const (
	CSRFField  = "csrf_token"
	CSRFHeader = "X-CSRF-Token"
)

// ErrCSRF is returned when a state-changing request lacks a valid CSRF token
// or comes from another site.
var ErrCSRF = errors.New("web: cross-site request refused")

// CSRF protects state-changing requests twice over: the browser's own
// Sec-Fetch-Site/Origin signals (http.CrossOriginProtection) refuse
// cross-origin POSTs, and a double-submit token bound to a per-browser cookie
// refuses a POST whose form or header does not carry the cookie's value. The
// cookie is HttpOnly and, on https, __Host- prefixed so a sibling subdomain
// cannot plant one.
type CSRF struct {
	cookie *Cookies
	origin *http.CrossOriginProtection
}

// NewCSRF returns a CSRF guard that stores its token with cookies.
func NewCSRF(cookies *Cookies) *CSRF {
	return &CSRF{cookie: cookies, origin: http.NewCrossOriginProtection()}
}

// Token returns the browser's CSRF token, setting the cookie when the browser
// has none yet. Pages put it into every form they render.
func (c *CSRF) Token(w http.ResponseWriter, r *http.Request) string {
	if v, ok := c.cookie.Read(r, CookieCSRF); ok && len(v) >= 32 {
		return v
	}
	b := make([]byte, 32)
	rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	c.cookie.Set(w, CookieCSRF, v, 0)
	return v
}

// Check verifies a state-changing request: same origin, and a token in the
// form field or header equal to the cookie's, compared in constant time.
func (c *CSRF) Check(r *http.Request) error {
	if err := c.origin.Check(r); err != nil {
		return ErrCSRF
	}
	want, ok := c.cookie.Read(r, CookieCSRF)
	if !ok || want == "" {
		return ErrCSRF
	}
	got := r.Header.Get(CSRFHeader)
	if got == "" {
		// ParseForm, never PostFormValue: it would parse a multipart body
		// (memory and temporary files) before anything checked the caller.
		// The body is bounded by the Guard in front of every route.
		if err := r.ParseForm(); err != nil {
			return ErrCSRF
		}
		got = r.PostForm.Get(CSRFField)
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return ErrCSRF
	}
	return nil
}
