package idp

import (
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/latch-idp/latch/internal/web"
)

// Limits on the parameters of an authorization request. Every request is
// stored until it is answered or expires, so unbounded values would let
// anyone fill the database; these are generous for any real app (state and
// nonce carry at least 512 bytes of an app's own data) and small next to
// what an attacker would need.
var authorizeLimits = map[string]int{
	"client_id":             128,
	"redirect_uri":          2048,
	"response_type":         32,
	"response_mode":         32,
	"scope":                 1024,
	"state":                 1024,
	"nonce":                 1024,
	"code_challenge":        128,
	"code_challenge_method": 16,
	"prompt":                64,
	"max_age":               10,
	"login_hint":            256,
	"id_token_hint":         8192,
	"acr_values":            256,
	"ui_locales":            64,
	"display":               16,
}

// maxAuthorizeQuery bounds the whole request, unknown parameters included.
const maxAuthorizeQuery = 16 << 10

// authorize checks an authorization request before the library sees it.
// The client and its redirect URI come first: until they are known good,
// no answer may go to the redirect URI (RFC 6749 §4.1.2.1), so a bad one is
// a page here, never a redirect; the library's native-app leniency (any
// loopback address, any path, "localhost") never gets to run. Then the
// size of every parameter, and a per-address limit on requests from
// browsers that are not signed in, since each request is a stored row.
func (p *Provider) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		web.NoStore(w)
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			w.Header().Set("Allow", "GET, POST")
			p.badRequest(w, r, http.StatusMethodNotAllowed, "Authorization requests are GET or POST.")
			return
		}
		if len(r.URL.RawQuery) > maxAuthorizeQuery {
			p.badRequest(w, r, http.StatusRequestURITooLong, "This sign-in request is too long.")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxAuthorizeQuery)
		if err := r.ParseForm(); err != nil {
			p.badRequest(w, r, http.StatusBadRequest, "This sign-in request is malformed.")
			return
		}
		c, ok := p.Storage.Clients[r.Form.Get("client_id")]
		if !ok {
			p.badRequest(w, r, http.StatusBadRequest, "This sign-in request names no app latch knows.")
			return
		}
		redirect := r.Form.Get("redirect_uri")
		if !c.RedirectRegistered(redirect) {
			p.badRequest(w, r, http.StatusBadRequest, "This sign-in request names a return address that "+c.App()+" has not registered.")
			return
		}
		for name, values := range r.Form {
			limit, known := authorizeLimits[name]
			if !known {
				limit = 256
			}
			for _, v := range values {
				if len(v) > limit || !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
					// The state itself may be what is too long: it is not
					// echoed back.
					state := r.Form.Get("state")
					if len(state) > authorizeLimits["state"] || !utf8.ValidString(state) || strings.ContainsRune(state, 0) {
						state = ""
					}
					p.redirectError(w, r, redirect, state, "invalid_request", "the "+name+" parameter is too long or not text")
					return
				}
			}
		}
		if len(r.Form["state"]) > 1 || len(r.Form["redirect_uri"]) > 1 || len(r.Form["client_id"]) > 1 {
			p.badRequest(w, r, http.StatusBadRequest, "This sign-in request repeats a parameter.")
			return
		}
		if v := r.Form.Get("max_age"); v != "" {
			if _, err := strconv.ParseUint(v, 10, 32); err != nil {
				p.redirectError(w, r, redirect, r.Form.Get("state"), "invalid_request", "max_age must be a number of seconds")
				return
			}
		}
		if p.cfg.AuthorizeLimiter != nil {
			d, err := p.cfg.CurrentDevice(r)
			if err != nil {
				// The request could not be stored either.
				p.failPage(w, r, err)
				return
			}
			if d == nil && !p.cfg.AuthorizeLimiter.Allow(p.clientAddr(r)) {
				w.Header().Set("Retry-After", "60")
				p.badRequest(w, r, http.StatusTooManyRequests, "Too many sign-in requests from your network. Wait a minute and try again.")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (p *Provider) clientAddr(r *http.Request) netip.Addr {
	if p.cfg.ClientIP != nil {
		return p.cfg.ClientIP.Addr(r)
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr()
}

// redirectError answers an authorization request with an OAuth error at its
// (already validated) redirect URI, with state and iss (RFC 9207).
func (p *Provider) redirectError(w http.ResponseWriter, r *http.Request, redirect, state, code, description string) {
	u, err := url.Parse(redirect)
	if err != nil {
		p.badRequest(w, r, http.StatusBadRequest, "This sign-in request is malformed.")
		return
	}
	q := u.Query()
	q.Set("error", code)
	q.Set("error_description", description)
	if state != "" {
		q.Set("state", state)
	}
	q.Set("iss", p.cfg.Issuer)
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// badRequest shows latch's error page for a request that cannot be
// answered at the app.
func (p *Provider) badRequest(w http.ResponseWriter, r *http.Request, status int, message string) {
	if p.cfg.ErrorPage != nil {
		p.cfg.ErrorPage(w, r, status, "This sign-in link can't be used", message+" Go back to the app and try again.")
		return
	}
	http.Error(w, message, status)
}
