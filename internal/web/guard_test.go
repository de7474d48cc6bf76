package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// testGuard is a guard as latch sets it up, in front of a handler that
// echoes how much body it saw.
func testGuard() (http.Handler, *RateLimiter) {
	limiter := NewRateLimiter(1, 2)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	limiter.Now = func() time.Time { return now }
	ip, _ := NewClientIP(nil)
	g := &Guard{
		Limits:      map[string]int64{"/oauth/": 64 << 10},
		OAuth:       []string{"/oauth/", "/api/"},
		RateLimited: map[string]string{"POST /login": "password"},
		Limiter:     limiter, ClientIP: ip, Metrics: NewMetrics(),
		Page: func(w http.ResponseWriter, r *http.Request, status int, heading, message string) {
			w.WriteHeader(status)
			io.WriteString(w, "<h1>"+heading+"</h1><p>"+message+"</p>")
		},
	}
	return g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		b, _ := io.ReadAll(r.Body) // what a form did not consume
		io.WriteString(w, "ok "+r.PostForm.Get("a")+" "+strings.Repeat("#", min(len(b), 3)))
	})), limiter
}

// TestGuard: what every route gets before its handler runs.
func TestGuard(t *testing.T) {
	form := "application/x-www-form-urlencoded"
	for _, tc := range []struct {
		name, method, target, contentType, body string
		chunked                                 bool
		want                                    int
		says                                    string
	}{
		{"a small form", "POST", "/login", form, "a=b", false, 200, "ok b"},
		{"a small text body", "POST", "/logout", "text/plain", "abcd", false, 200, "ok  ###"},
		{"a GET", "GET", "/login?x=1", "", "", false, 200, "ok"},
		{"multipart", "POST", "/login", "multipart/form-data; boundary=x", "--x--", false, 415, "multipart"},
		{"multipart without a boundary", "POST", "/account", "Multipart/Form-Data", "", false, 415, "multipart"},
		{"multipart, OAuth", "POST", "/oauth/token", "multipart/form-data; boundary=x", "--x--", false, 415, `"error":"invalid_request"`},
		{"form over 16 KiB", "POST", "/login", form, "a=" + strings.Repeat("b", 16<<10), false, 413, "at most 16 KiB"},
		{"form over 16 KiB, chunked", "POST", "/login", form, "a=" + strings.Repeat("b", 16<<10), true, 413, "at most 16 KiB"},
		{"form at 16 KiB", "POST", "/login", form, "a=" + strings.Repeat("b", 16<<10-2), false, 200, "ok"},
		{"no content type over 16 KiB", "POST", "/logout", "", strings.Repeat("b", 17<<10), false, 413, "too large"},
		{"OAuth form within 64 KiB", "POST", "/oauth/token", form, "a=" + strings.Repeat("b", 60<<10), false, 200, "ok"},
		{"OAuth form over 64 KiB", "POST", "/oauth/token", form, "a=" + strings.Repeat("b", 64<<10), true, 413, `"error":"invalid_request"`},
		{"JSON within 64 KiB", "POST", "/login/passkey/begin", "application/json", `{"a":"` + strings.Repeat("b", 60<<10) + `"}`, false, 200, "ok"},
		{"JSON over 64 KiB", "POST", "/login/passkey/begin", "application/json", `{"a":"` + strings.Repeat("b", 64<<10) + `"}`, true, 413, `{"error":"That request is too large`},
		{"API JSON over 64 KiB", "POST", "/api/account/sessions/end", "application/json", strings.Repeat(" ", 65<<10), false, 413, `"error":"invalid_request"`},
		{"NUL in the query", "GET", "/login?authRequestID=%00", "", "", false, 400, "NUL"},
		{"invalid UTF-8 in the query", "GET", "/authorize?state=%FF", "", "", false, 400, "UTF-8"},
		{"NUL in a query key", "GET", "/login?a%00=1", "", "", false, 400, "NUL"},
		{"NUL in the path", "POST", "/account/sessions/%00/end", form, "", false, 400, "NUL"},
		{"NUL in the query, OAuth", "GET", "/oauth/token?x=%00", "", "", false, 400, `"error":"invalid_request"`},
		{"NUL in a form", "POST", "/login", form, "email=a%00b", false, 400, "NUL"},
		{"invalid UTF-8 in a form", "POST", "/consent", form, "decision=%C3%28", false, 400, "UTF-8"},
		{"malformed form", "POST", "/consent", form, "decision=%zz", false, 400, "malformed"},
		{"NUL escape in JSON", "POST", "/login/passkey/begin", "application/json", `{"a":"x\u0000"}`, false, 400, "NUL"},
		{"invalid UTF-8 in JSON", "POST", "/login/passkey/begin", "application/json", "{\"a\":\"\xff\"}", false, 400, "UTF-8"},
		{"escaped backslash before u0000 in JSON", "POST", "/login/passkey/begin", "application/json", `{"a":"\\u0000"}`, false, 200, "ok"},
		{"control characters pass to the handler", "POST", "/login", form, "a=%01%1B", false, 200, "ok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := testGuard()
			var body io.Reader = strings.NewReader(tc.body)
			if tc.chunked {
				body = io.MultiReader(body) // hides the length: sent chunked
			}
			r := httptest.NewRequest(tc.method, tc.target, body)
			if tc.chunked {
				r.ContentLength = -1
			}
			if tc.contentType != "" {
				r.Header.Set("Content-Type", tc.contentType)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.want || !strings.Contains(w.Body.String(), tc.says) {
				t.Fatalf("%d %q, want %d saying %q", w.Code, w.Body.String(), tc.want, tc.says)
			}
			if w.Code != 200 && w.Header().Get("Cache-Control") != "no-store" {
				t.Fatal("a refusal may be cached")
			}
		})
	}
}

// TestGuardUserAgent: the User-Agent reaches handlers as valid UTF-8 of at
// most 1 KiB.
func TestGuardUserAgent(t *testing.T) {
	g := &Guard{}
	var got string
	h := g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.UserAgent() }))
	for _, tc := range []struct{ name, ua, want string }{
		{"ordinary", "Mozilla/5.0 (X11; Linux x86_64)", "Mozilla/5.0 (X11; Linux x86_64)"},
		{"Latin-1", "Mozilla/5.0 caf\xe9", "Mozilla/5.0 caf\uFFFD"},
		{"over 1 KiB", strings.Repeat("é", 600), strings.Repeat("é", 512)},
		{"none", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("User-Agent", tc.ua)
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got != tc.want {
				t.Fatalf("the handler saw %q, want %q", got, tc.want)
			}
		})
	}
}

// TestGuardRateLimit: the sign-in routes take a token before their body is
// read; other routes take none.
func TestGuardRateLimit(t *testing.T) {
	h, _ := testGuard()
	post := func(path, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", path, io.MultiReader(strings.NewReader(body)))
		r.ContentLength = -1 // sent chunked: only reading tells its size
		r.RemoteAddr = "[2001:db8::1]:4000"
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for range 2 {
		if w := post("/login", "a=b"); w.Code != 200 {
			t.Fatalf("within the burst: %d", w.Code)
		}
	}
	// A body that would be refused is not even read.
	w := post("/login", "a="+strings.Repeat("b", 32<<10))
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "Too many") {
		t.Fatalf("past the burst: %d %q", w.Code, w.Body.String())
	}
	if w := post("/consent", "a=b"); w.Code != 200 {
		t.Fatalf("a route that is not rate limited: %d", w.Code)
	}
}

// TestValidText: text a person could type, within a length.
func TestValidText(t *testing.T) {
	for _, tc := range []struct {
		name, s string
		max     int
		want    bool
	}{
		{"plain", "Ada's YubiKey", 64, true},
		{"non-ASCII", "Clé de Zoë 🔑", 64, true},
		{"empty", "", 64, true},
		{"NUL", "a\x00b", 64, false},
		{"escape sequence", "a\x1b[31m", 64, false},
		{"newline", "a\nb", 64, false},
		{"DEL", "a\x7f", 64, false},
		{"C1 control", "a\u0085", 64, false},
		{"invalid UTF-8", "a\xff", 64, false},
		{"too long", strings.Repeat("a", 65), 64, false},
		{"at the limit", strings.Repeat("a", 64), 64, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValidText(tc.s, tc.max); got != tc.want {
				t.Fatalf("ValidText(%q, %d) = %v", tc.s, tc.max, got)
			}
		})
	}
}
