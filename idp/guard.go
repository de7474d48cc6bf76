package idp

import (
	"context"
	"errors"
	"net/http"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/latch-idp/latch/internal/pg"
)

// The OIDC library answers the authorization, callback, end_session and
// JWKS requests itself, and it turns every storage error into an answer of
// its own: a redirect to the app with server_error (which many apps show as
// "sign-in failed", some as "signed out"), a 400 whose body is the error's
// text (connection details included), or a 500. None of those is right when
// latch simply could not reach its database. So the storage methods the
// library calls record such an error in the request (noteFailure), and
// guard, around the library's handler, replaces whatever the library was
// about to answer with latch's own: the 503 "try again in a moment" page
// when the database did not answer, a plain error page otherwise. The same
// happens to any 5xx the library answers on its own.

// callState carries a storage failure from the storage method the library
// called back to guard.
type callState struct{ err error }

type callStateKey struct{}

// noteFailure records a storage error for guard. Refusals the library
// should answer itself (an oidc.Error, a missing record) are not failures.
func noteFailure(ctx context.Context, err error) {
	st, _ := ctx.Value(callStateKey{}).(*callState)
	if st == nil || err == nil || st.err != nil {
		return
	}
	var oe *oidc.Error
	var nf errNotFound
	if errors.As(err, &nf) || (errors.As(err, &oe) && !pg.Unavailable(err)) {
		return
	}
	st.err = err
}

// errTemporarilyUnavailable is RFC 6749 §4.1.2.1's temporarily_unavailable,
// which the library has no constructor for: what an app hears if a
// database failure ever reaches it as an authorization error.
func errTemporarilyUnavailable(err error) *oidc.Error {
	return (&oidc.Error{ErrorType: "temporarily_unavailable",
		Description: "latch cannot answer right now; try again in a moment"}).WithParent(err)
}

// databaseAway reports whether err means that latch could not ask its
// database; a request cancelled on latch's side (the client hung up) is
// not that.
func databaseAway(err error) bool {
	return pg.Unavailable(err) && !errors.Is(err, context.Canceled)
}

// guard runs the library's handler for a browser with a callState, and
// answers for it with a page when a storage method failed or the library
// answered 5xx.
func (p *Provider) guard(next http.Handler) http.Handler { return p.guarded(next, false) }

// guardJSON is guard for an endpoint that apps call (JWKS): its answer
// is RFC 6749 JSON.
func (p *Provider) guardJSON(next http.Handler) http.Handler { return p.guarded(next, true) }

func (p *Provider) guarded(next http.Handler, asJSON bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &callState{}
		r = r.WithContext(context.WithValue(r.Context(), callStateKey{}, st))
		gw := &guardWriter{ResponseWriter: w, st: st, p: p, r: r, json: asJSON}
		next.ServeHTTP(gw, r)
	})
}

// guardWriter passes the library's answer through unless a failure was
// noted or the status is 5xx; then it writes latch's answer instead and
// drops the library's body.
type guardWriter struct {
	http.ResponseWriter
	st       *callState
	p        *Provider
	r        *http.Request
	json     bool
	wrote    bool
	replaced bool
}

func (g *guardWriter) WriteHeader(code int) {
	if g.wrote {
		return
	}
	g.wrote = true
	if g.st.err == nil && code < 500 {
		g.ResponseWriter.WriteHeader(code)
		return
	}
	g.replaced = true
	h := g.ResponseWriter.Header()
	for _, k := range []string{"Location", "Content-Type", "Content-Length", "X-Content-Type-Options"} {
		h.Del(k)
	}
	err := g.st.err
	if err == nil {
		err = errors.New("the OIDC library answered " + http.StatusText(code))
	}
	if !g.json {
		g.p.failPage(g.ResponseWriter, g.r, err)
		return
	}
	if databaseAway(err) {
		g.p.unavailable(g.ResponseWriter, g.r, err)
		return
	}
	g.p.cfg.Logger.ErrorContext(g.r.Context(), "request failed", "path", g.r.URL.Path, "err", err)
	g.p.cfg.Metrics.Errors.WithLabelValues("oidc").Inc()
	writeError(g.ResponseWriter, http.StatusInternalServerError, "server_error", "latch could not answer this request")
}

func (g *guardWriter) Write(b []byte) (int, error) {
	if !g.wrote {
		g.WriteHeader(http.StatusOK)
	}
	if g.replaced {
		return len(b), nil
	}
	return g.ResponseWriter.Write(b)
}

// failPage answers a browser whose request latch could not serve: the 503
// page when the database did not answer, a generic error page otherwise,
// never the error's text.
func (p *Provider) failPage(w http.ResponseWriter, r *http.Request, err error) {
	if databaseAway(err) {
		if p.cfg.Unavailable != nil {
			p.cfg.Unavailable(w, r, err)
			return
		}
		p.cfg.Logger.WarnContext(r.Context(), "answering 503: database unavailable", "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "2")
		http.Error(w, "latch can't reach its database right now. Try again in a moment.", http.StatusServiceUnavailable)
		return
	}
	p.cfg.Logger.ErrorContext(r.Context(), "request failed", "path", r.URL.Path, "err", err)
	p.cfg.Metrics.Errors.WithLabelValues("oidc").Inc()
	if p.cfg.ErrorPage != nil {
		p.cfg.ErrorPage(w, r, http.StatusInternalServerError, "Something went wrong",
			"latch could not finish this request. Please try again in a moment.")
		return
	}
	http.Error(w, "latch could not finish this request. Please try again in a moment.", http.StatusInternalServerError)
}
