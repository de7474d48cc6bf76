package main

import (
	"context"
	"log/slog"
	"unicode/utf8"
)

// setDefaultLogger makes logger the default logger, behind libraryHandler.
// latch's own code logs through the logger it is given; the default logger
// is what the OIDC library (zitadel/oidc) logs through.
func setDefaultLogger(logger *slog.Logger) {
	slog.SetDefault(slog.New(libraryHandler{next: logger.Handler()}))
}

// libraryHandler passes on the OIDC library's log lines without the request
// in them. The library logs every failed request with its parameters: the
// state and session_state, the redirect URI and scopes of the authorization
// request, the redirect URL it built. Any caller chooses those, so they
// could fill latch's log (6 MB from 200 requests with a 4 KB state), plant
// lines in it, or leave a token or someone's email there. Only attributes
// that say what went wrong pass: the error type and description, the
// status code, and for server errors (latch's fault, never the caller's)
// the underlying error, each cut to maxLibraryValue bytes.
type libraryHandler struct {
	next slog.Handler
}

// maxLibraryValue bounds a value the library logs.
const maxLibraryValue = 256

func (h libraryHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h libraryHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if a, ok := keepLibraryAttr(a, r.Level); ok {
			out.AddAttrs(a)
		}
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h libraryHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	var kept []slog.Attr
	for _, a := range attrs {
		// Attributes bound ahead of a record count as informational.
		if a, ok := keepLibraryAttr(a, slog.LevelInfo); ok {
			kept = append(kept, a)
		}
	}
	return libraryHandler{next: h.next.WithAttrs(kept)}
}

func (h libraryHandler) WithGroup(name string) slog.Handler {
	return libraryHandler{next: h.next.WithGroup(name)}
}

// keepLibraryAttr returns the part of a that may be logged, if any. Groups
// (the library's oidc_error) keep the members that may.
func keepLibraryAttr(a slog.Attr, level slog.Level) (slog.Attr, bool) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		var kept []slog.Attr
		for _, m := range v.Group() {
			if m, ok := keepLibraryAttr(m, level); ok {
				kept = append(kept, m)
			}
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(kept...)}, len(kept) > 0
	}
	switch a.Key {
	case "type", "description", "status_code", "endpoint":
	case "parent":
		if level < slog.LevelError {
			return a, false
		}
	default:
		return a, false
	}
	if v.Kind() != slog.KindString && v.Kind() != slog.KindAny {
		return slog.Attr{Key: a.Key, Value: v}, true
	}
	return slog.String(a.Key, cut(v.String(), maxLibraryValue)), true
}

// cut shortens s to at most n bytes on a character boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
