package idp

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/latch-idp/latch/internal/web"
)

func guardedProvider(pages *[]string) *Provider {
	return &Provider{cfg: Config{
		Logger:  slog.New(slog.DiscardHandler),
		Metrics: web.NewMetrics(),
		Unavailable: func(w http.ResponseWriter, r *http.Request, err error) {
			*pages = append(*pages, "unavailable")
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "unavailable page")
		},
		ErrorPage: func(w http.ResponseWriter, r *http.Request, status int, heading, message string) {
			*pages = append(*pages, "error")
			w.WriteHeader(status)
			io.WriteString(w, heading)
		},
	}}
}

// TestGuard: what the library answers after a storage failure is replaced
// by latch's page, 503 when the database did not answer; a library 5xx is
// replaced too; refusals and successes pass through.
func TestGuard(t *testing.T) {
	dbDown := fmt.Errorf("store auth request: %w", &net503{})
	for _, tt := range []struct {
		name     string
		note     error
		status   int
		want     int
		wantBody string
	}{
		{"redirect after the database failed", dbDown, http.StatusFound, 503, "unavailable page"},
		{"redirect after another failure", errors.New("boom"), http.StatusFound, 500, "Something went wrong"},
		{"library 500", nil, http.StatusInternalServerError, 500, "Something went wrong"},
		{"refusal", oidc.ErrInvalidRequest(), http.StatusFound, 302, "library body"},
		{"not found", errNotFound{"auth request"}, http.StatusBadRequest, 400, "library body"},
		{"success", nil, http.StatusFound, 302, "library body"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var pages []string
			p := guardedProvider(&pages)
			h := p.guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				noteFailure(r.Context(), tt.note)
				w.Header().Set("Location", "http://app.example/callback?error=server_error")
				w.Header().Set("Content-Type", "text/plain")
				w.WriteHeader(tt.status)
				io.WriteString(w, "library body")
			}))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/authorize", nil))
			if rec.Code != tt.want || !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Fatalf("%d %q, want %d %q", rec.Code, rec.Body, tt.want, tt.wantBody)
			}
			if tt.want >= 500 && (rec.Header().Get("Location") != "" || strings.Contains(rec.Body.String(), "library body")) {
				t.Fatalf("the library's answer leaked: %v %q", rec.Header(), rec.Body)
			}
		})
	}
	// JWKS answers in JSON.
	var pages []string
	h := guardedProvider(&pages).guardJSON(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noteFailure(r.Context(), dbDown)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/keys", nil))
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), `"temporarily_unavailable"`) || len(pages) != 0 {
		t.Fatalf("keys: %d %q", rec.Code, rec.Body)
	}
}

// TestCreateAuthRequestUnavailable: a request that cannot be stored is
// temporarily_unavailable (RFC 6749 §4.1.2.1), never server_error.
func TestCreateAuthRequestUnavailable(t *testing.T) {
	cs, err := ParseClients("t", []byte("clients:\n  - id: web\n    app: Web\n    secret: a-long-secret-0123456789\n    redirect_uris: [https://web.example.com/cb]\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := cs[0]
	s := &Storage{DB: unreachable(t), Clients: map[string]*Client{c.GetID(): c}, Now: time.Now}
	_, err = s.CreateAuthRequest(t.Context(), &oidc.AuthRequest{ClientID: c.GetID(), RedirectURI: c.RedirectURIs()[0],
		CodeChallenge: "x", CodeChallengeMethod: oidc.CodeChallengeMethodS256, Scopes: []string{"openid"}}, "")
	var oe *oidc.Error
	if !errors.As(err, &oe) || oe.ErrorType != "temporarily_unavailable" {
		t.Fatalf("err = %v", err)
	}
}

// net503 is a network error, as a refused connection is.
type net503 struct{}

func (*net503) Error() string   { return "dial unix: connect: connection refused" }
func (*net503) Timeout() bool   { return false }
func (*net503) Temporary() bool { return false }
