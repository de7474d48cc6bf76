package main

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// TestLibraryHandler: the OIDC library's lines keep what went wrong and
// lose the request: state, redirect URIs, scopes, URLs.
func TestLibraryHandler(t *testing.T) {
	t.Parallel()
	req := &oidc.AuthRequest{ClientID: "app-a", RedirectURI: "http://localhost:47001/callback?secret",
		Scopes: oidc.SpaceDelimitedArray{"openid", "scope-secret"}, State: "state-secret"}
	for _, tc := range []struct {
		name      string
		level     slog.Level
		args      []any
		want      []string
		forbidden []string
	}{
		{"client error", slog.LevelWarn,
			[]any{slog.Any("oidc_error", withState(oidc.ErrInvalidScope().WithDescription("scope must include openid").WithParent(errors.New("parent-secret")))),
				slog.Any("auth_request", req)},
			[]string{"oidc_error.type=invalid_scope", `oidc_error.description="scope must include openid"`},
			[]string{"state-secret", "parent-secret", "scope-secret", "localhost:47001", "auth_request"}},
		{"server error keeps its cause", slog.LevelError,
			[]any{slog.Any("oidc_error", oidc.ErrServerError().WithParent(errors.New("store auth request: connection refused")))},
			[]string{"type=server_error", "connection refused"}, nil},
		{"a redirect URL", slog.LevelWarn,
			[]any{slog.String("url", "http://localhost:47001/callback?state=state-secret"), slog.Int("status_code", 400)},
			[]string{"status_code=400"}, []string{"state-secret", "url="}},
		{"a long description is cut", slog.LevelWarn,
			[]any{slog.Any("oidc_error", oidc.ErrInvalidRequest().WithDescription("%s", strings.Repeat("é", 400)))},
			[]string{"…"}, []string{strings.Repeat("é", 129)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			logger := slog.New(libraryHandler{next: slog.NewTextHandler(&buf, nil)})
			logger.Log(t.Context(), tc.level, "auth request", tc.args...)
			line := buf.String()
			for _, w := range tc.want {
				if !strings.Contains(line, w) {
					t.Errorf("the line lacks %q: %s", w, line)
				}
			}
			for _, f := range tc.forbidden {
				if strings.Contains(line, f) {
					t.Errorf("the line holds %.40q: %s", f, line)
				}
			}
		})
	}
}

func withState(e *oidc.Error) *oidc.Error {
	e.State = "state-secret"
	return e
}
