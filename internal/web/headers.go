package web

import (
	"net/http"
	"strings"
)

// SecurityHeaders adds latch's response headers to every answer. The
// Content-Security-Policy allows no inline script or style and no framing;
// formTargets lists the origins a sign-in form may end up redirecting to
// (the clients' redirect URIs), because browsers apply form-action to the
// redirects that follow a form submission.
func SecurityHeaders(formTargets []string, next http.Handler) http.Handler {
	formAction := strings.Join(append([]string{"'self'"}, formTargets...), " ")
	csp := "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; form-action " + formAction + "; frame-ancestors 'none'; base-uri 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// NoStore marks a response as not cacheable; every page that shows account
// data or carries a token uses it.
func NoStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}
