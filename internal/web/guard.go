package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Body limits. A latch form is a handful of short fields; JSON carries a
// WebAuthn credential (a few KiB) or a list of session ids. Routes that
// need more say so in Guard.Limits.
const (
	FormLimit = 16 << 10
	JSONLimit = 64 << 10
)

// Guard is the first handler every request meets, so that no route can
// forget what it enforces. Before latch does any work for a request, the
// guard:
//
//   - refuses multipart bodies (415): no latch form uploads a file, and
//     parsing multipart spills to memory and temporary files;
//   - refuses a path or query holding NUL or invalid UTF-8 (400);
//   - refuses a declared Content-Length over the route's limit (413);
//   - takes a token from the per-address rate limiter on the sign-in
//     routes (429), before their body is read;
//   - reads the body within the route's limit (413 past it), so handlers
//     only ever see a bounded body held in memory;
//   - refuses a form or JSON body holding NUL or invalid UTF-8 (400);
//   - cleans the User-Agent, which latch stores with sessions and events:
//     valid UTF-8, at most 1 KiB.
//
// Refusals are latch's error page, or JSON for scripts ({"error":
// sentence}) and OAuth-style callers ({"error": "invalid_request",
// "error_description": sentence}, RFC 6749 §5.2).
type Guard struct {
	// Limits sets the body limit of the paths under a prefix; the longest
	// matching prefix wins, and FormLimit holds elsewhere. JSON bodies may
	// always be JSONLimit.
	Limits map[string]int64
	// OAuth lists the path prefixes that answer refusals in OAuth's JSON
	// shape.
	OAuth []string
	// RateLimited maps the "METHOD /path" of each sign-in route to its
	// sign-in method, the label of latch_signins_total{result="rate_limited"}.
	RateLimited map[string]string
	Limiter     *RateLimiter
	ClientIP    *ClientIP
	Metrics     *Metrics
	// Page writes latch's error page.
	Page func(w http.ResponseWriter, r *http.Request, status int, heading, message string)
}

// refusal is why the guard stops a request.
type refusal struct {
	status           int
	heading, message string
}

var (
	refuseMultipart = &refusal{http.StatusUnsupportedMediaType, "That kind of request isn't accepted",
		"latch forms send plain fields; file uploads (multipart/form-data) are not accepted."}
	refuseText = &refusal{http.StatusBadRequest, "latch could not read that request",
		"It holds a character latch does not accept (a NUL byte, or text that is not UTF-8). Go back and try again."}
	refuseForm = &refusal{http.StatusBadRequest, "latch could not read that request",
		"The form is malformed. Go back, reload the page and try again."}
	refuseRate = &refusal{http.StatusTooManyRequests, "Too many attempts",
		"Too many sign-in attempts from your network. Wait a minute and try again."}
)

func refuseSize(limit int64) *refusal {
	return &refusal{http.StatusRequestEntityTooLarge, "That request is too large",
		fmt.Sprintf("That request is too large: latch accepts at most %d KiB here. Go back and try again with less.", limit>>10)}
}

// Wrap returns next behind the guard.
func (g *Guard) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if no := g.check(w, r); no != nil {
			g.refuse(w, r, no)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// check applies the guard's rules in order, cheapest first, and leaves r
// with its body read into memory.
func (g *Guard) check(w http.ResponseWriter, r *http.Request) *refusal {
	kind := mediaType(r.Header.Get("Content-Type"))
	if strings.HasPrefix(kind, "multipart/") {
		return refuseMultipart
	}
	if !validURL(r.URL) {
		return refuseText
	}
	cleanUserAgent(r.Header)
	limit := g.limit(r.URL.Path, kind)
	if r.ContentLength > limit {
		return refuseSize(limit)
	}
	if method, ok := g.RateLimited[r.Method+" "+r.URL.Path]; ok && g.Limiter != nil && !g.Limiter.Allow(g.ClientIP.Addr(r)) {
		if g.Metrics != nil {
			g.Metrics.SignIns.WithLabelValues(method, "rate_limited").Inc()
		}
		w.Header().Set("Retry-After", "60")
		return refuseRate
	}
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return refuseSize(limit)
	}
	if err != nil {
		return refuseForm
	}
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	switch kind {
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return refuseForm
		}
		if !validValues(form) {
			return refuseText
		}
	case "application/json":
		if !validJSON(body) {
			return refuseText
		}
	}
	return nil
}

// limit is the body limit of a request to path with a body of kind.
func (g *Guard) limit(path, kind string) int64 {
	limit, longest := int64(FormLimit), -1
	for prefix, n := range g.Limits {
		if strings.HasPrefix(path, prefix) && len(prefix) > longest {
			limit, longest = n, len(prefix)
		}
	}
	if kind == "application/json" {
		limit = max(limit, JSONLimit)
	}
	return limit
}

// validURL checks the path and every query parameter that parses; a
// malformed part is left out by every parser alike, so it is not refused.
func validURL(u *url.URL) bool {
	if !validValue(u.Path) {
		return false
	}
	q, _ := url.ParseQuery(u.RawQuery) // the parts it could parse, as said above
	return validValues(q)
}

// maxUserAgent bounds the User-Agent latch keeps; real ones are a few
// hundred bytes.
const maxUserAgent = 1 << 10

// cleanUserAgent makes the User-Agent valid UTF-8 of at most maxUserAgent
// bytes. HTTP allows any byte above 0x7F in a header (RFC 9110 §5.5,
// obs-text), which PostgreSQL refuses in text, and a header may be as long
// as the server's header limit.
func cleanUserAgent(h http.Header) {
	ua := h.Get("User-Agent")
	if ua == "" || len(ua) <= maxUserAgent && utf8.ValidString(ua) {
		return
	}
	ua = strings.ToValidUTF8(ua, "\uFFFD")
	if len(ua) > maxUserAgent {
		n := maxUserAgent
		for n > 0 && !utf8.RuneStart(ua[n]) {
			n--
		}
		ua = ua[:n]
	}
	h.Set("User-Agent", ua)
}

// mediaType is the lower-case media type of a Content-Type, or "".
func mediaType(contentType string) string {
	if contentType == "" {
		return ""
	}
	kind, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		// Unparseable parameters still name the type ("multipart/form-data; boundary").
		kind, _, _ = strings.Cut(strings.ToLower(strings.TrimSpace(contentType)), ";")
	}
	return strings.TrimSpace(kind)
}

// refuse answers in the caller's language: OAuth's JSON, a script's JSON,
// or latch's page.
func (g *Guard) refuse(w http.ResponseWriter, r *http.Request, no *refusal) {
	NoStore(w)
	switch {
	case g.isOAuth(r.URL.Path):
		writeJSON(w, no.status, map[string]string{"error": "invalid_request", "error_description": no.message})
	case wantsJSON(r):
		writeJSON(w, no.status, map[string]string{"error": no.message})
	case g.Page != nil:
		g.Page(w, r, no.status, no.heading, no.message)
	default:
		http.Error(w, no.message, no.status)
	}
}

func (g *Guard) isOAuth(path string) bool {
	for _, p := range g.OAuth {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// wantsJSON reports whether the caller is a script speaking JSON.
func wantsJSON(r *http.Request) bool {
	return mediaType(r.Header.Get("Content-Type")) == "application/json" ||
		strings.HasPrefix(r.Header.Get("Accept"), "application/json")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// v is latch's own map, which always encodes; an error writing is the
	// client gone, and nothing is left to tell it.
	_ = json.NewEncoder(w).Encode(v)
}
