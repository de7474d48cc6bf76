package main

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
)

// Issue 9: anonymous callers cannot make latch do unbounded work. These
// tests send what an attacker would: huge and multipart bodies, NUL bytes
// and broken UTF-8, hundreds of concurrent sign-ins, and authorization
// requests built to fill the log.

// send makes one request with b's cookies (and, for POSTs, the same-origin
// headers a browser adds) and returns the final status and body.
func (b *browser) send(method, path, contentType string, body io.Reader, header http.Header) (int, string, http.Header) {
	b.t.Helper()
	req, err := http.NewRequest(method, b.l.url+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("User-Agent", b.ua)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if method == http.MethodPost {
		req.Header.Set("Origin", b.l.url)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp.StatusCode, page(b.t, resp), resp.Header
}

// csrf returns the browser's CSRF token, fetching a page to get one.
func (b *browser) csrf() string {
	b.t.Helper()
	return hiddenFields(page(b.t, b.do("GET", "/login", nil))).Get("csrf_token")
}

// TestMultipartRefused: no route parses multipart/form-data; a file part
// to /login is refused with 415 before any of it is stored, whatever the
// CSRF cookie says.
func TestMultipartRefused(t *testing.T) {
	l := startLatch(t)
	b := l.browser()
	token := b.csrf()
	for _, path := range []string{"/login", "/login/verify", "/account/security/password", "/oauth/token", "/authorize", "/consent"} {
		t.Run(path, func(t *testing.T) {
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			mw.WriteField("csrf_token", token)
			mw.WriteField("email", l.email)
			fw, _ := mw.CreateFormFile("file", "big.bin")
			fw.Write(bytes.Repeat([]byte("x"), 1<<20))
			mw.Close()
			code, text, h := b.send("POST", path, mw.FormDataContentType(), &body, nil)
			if code != http.StatusUnsupportedMediaType {
				t.Fatalf("%s: %d, want 415:\n%.400s", path, code, text)
			}
			if strings.HasPrefix(path, "/oauth/") {
				if !strings.Contains(h.Get("Content-Type"), "application/json") || !strings.Contains(text, `"invalid_request"`) {
					t.Fatalf("%s: an OAuth endpoint answers in JSON, got %s", path, text)
				}
			} else if !strings.Contains(text, "multipart") {
				t.Fatalf("%s: the page does not say why:\n%.600s", path, text)
			}
		})
	}
}

// TestBodyLimits: a body over its route's limit is refused with 413 and a
// sentence, as a page, as JSON for scripts, and in OAuth's shape for the
// OAuth endpoints; bodies within the limits still work.
func TestBodyLimits(t *testing.T) {
	l := startLatch(t)
	b := l.browser()
	token := b.csrf()
	csrfHeader := http.Header{"X-Csrf-Token": {token}}
	big := func(n int) string { return strings.Repeat("a", n) }
	for _, tc := range []struct {
		name, path, contentType, body string
		header                        http.Header
		want                          int
		says                          string
	}{
		{"form over 16 KiB", "/login", "application/x-www-form-urlencoded",
			"csrf_token=" + token + "&email=" + big(20<<10), nil, http.StatusRequestEntityTooLarge, "too large"},
		{"form within 16 KiB", "/login", "application/x-www-form-urlencoded",
			"csrf_token=" + token + "&email=x%40example.com&password=" + big(8<<10), nil, http.StatusUnauthorized, "Wrong email or password"},
		{"text body over 16 KiB", "/logout", "text/plain", big(20 << 10), nil, http.StatusRequestEntityTooLarge, "too large"},
		{"JSON over 64 KiB", "/login/passkey/begin", "application/json",
			`{"auth_request":"` + big(70<<10) + `"}`, csrfHeader, http.StatusRequestEntityTooLarge, `"error"`},
		{"JSON within 64 KiB", "/login/passkey/begin", "application/json",
			`{"conditional":true,"auth_request":"","pad":"` + big(30<<10) + `"}`, csrfHeader, http.StatusOK, "challenge"},
		{"sessions API over 64 KiB", "/api/account/sessions/end", "application/json",
			`{"ids":["` + big(70<<10) + `"]}`, csrfHeader, http.StatusRequestEntityTooLarge, `"invalid_request"`},
		{"token endpoint over 64 KiB", "/oauth/token", "application/x-www-form-urlencoded",
			"grant_type=authorization_code&code=" + big(70<<10), nil, http.StatusRequestEntityTooLarge, `"invalid_request"`},
		{"token endpoint within 64 KiB", "/oauth/token", "application/x-www-form-urlencoded",
			"grant_type=authorization_code&client_id=app-a&client_secret=alpha-secret-0123456789&code=" + big(30<<10),
			nil, http.StatusBadRequest, `"invalid_grant"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, text, _ := b.send("POST", tc.path, tc.contentType, strings.NewReader(tc.body), tc.header)
			if code != tc.want || !strings.Contains(text, tc.says) {
				t.Fatalf("%d, want %d saying %q:\n%.600s", code, tc.want, tc.says, text)
			}
		})
	}
	// Without a Content-Length (chunked), the limit holds while reading.
	t.Run("chunked form over 16 KiB", func(t *testing.T) {
		body := io.MultiReader(strings.NewReader("csrf_token="+token+"&email="), strings.NewReader(big(40<<10)))
		code, text, _ := b.send("POST", "/login", "application/x-www-form-urlencoded", io.NopCloser(body), nil)
		if code != http.StatusRequestEntityTooLarge || !strings.Contains(text, "too large") {
			t.Fatalf("%d:\n%.600s", code, text)
		}
	})
}
