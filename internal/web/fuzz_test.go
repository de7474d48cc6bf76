package web

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzGuard sends any body, of any declared type, to any path through the
// guard. A request the guard lets through holds at most its route's limit
// in memory, and its form values or JSON strings are valid UTF-8 without
// NUL; a refused one gets a 4xx and never reaches the handler.
func FuzzGuard(f *testing.F) {
	g := &Guard{Limits: map[string]int64{"/big": 32 << 10}, OAuth: []string{"/oauth/"}}
	for _, seed := range []struct {
		path, contentType, body string
	}{
		{"/login", "application/x-www-form-urlencoded", "email=a%40b.c&password=x"},
		{"/login", "application/x-www-form-urlencoded", "email=%00&password=%ff"},
		{"/login", "application/x-www-form-urlencoded", "a=%zz&b=1;c=2"},
		{"/login", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--x--"},
		{"/login", "MULTIPART/form-data", "x"},
		{"/api/account/sessions/end", "application/json", `{"ids": ["a\u0000"]}`},
		{"/api/account/sessions/end", "application/json", `{"ids": ["\\u0000"]}`},
		{"/api/account/sessions/end", "application/json; charset=utf-8", "{\"\xff\": 1}"},
		{"/oauth/token", "application/x-www-form-urlencoded", "grant_type=" + strings.Repeat("x", 20<<10)},
		{"/big", "text/plain", strings.Repeat("y", 40<<10)},
		{"/x%00y", "", ""},
	} {
		f.Add(seed.path, seed.contentType, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, path, contentType string, body []byte) {
		req, err := http.NewRequest("POST", "http://latch.test/", bytes.NewReader(body))
		if err != nil {
			return
		}
		req.URL.Path = "/" + strings.TrimPrefix(path, "/")
		if q := strings.IndexByte(path, '?'); q >= 0 {
			req.URL.Path, req.URL.RawQuery = "/"+strings.TrimPrefix(path[:q], "/"), path[q+1:]
		}
		req.Header.Set("Content-Type", contentType)
		reached := false
		h := g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			reached = true
			got, err := io.ReadAll(r.Body)
			if err != nil {
				t.Fatalf("the guard let through a body it had not read: %v", err)
			}
			if limit := g.limit(r.URL.Path, mediaType(contentType)); int64(len(got)) > limit {
				t.Fatalf("%d bytes reached the handler of %s, past its limit %d", len(got), r.URL.Path, limit)
			}
			kind := mediaType(contentType)
			if strings.HasPrefix(kind, "multipart/") {
				t.Fatalf("a multipart body (%q) reached the handler", contentType)
			}
			if !validValue(r.URL.Path) {
				t.Fatalf("path %q reached the handler", r.URL.Path)
			}
			r.Body = io.NopCloser(bytes.NewReader(got))
			if err := r.ParseForm(); err == nil {
				for k, vs := range r.Form {
					for _, v := range append(vs, k) {
						if strings.IndexByte(v, 0) >= 0 || !utf8.ValidString(v) {
							t.Fatalf("form value %q reached the handler", v)
						}
					}
				}
			}
			if kind == "application/json" {
				var v any
				if json.Unmarshal(got, &v) == nil && holdsNUL(v) {
					t.Fatalf("JSON %q with a NUL reached the handler", got)
				}
			}
		}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if !reached && (w.Code < 400 || w.Code > 499) {
			t.Fatalf("refused with %d", w.Code)
		}
	})
}

// holdsNUL reports whether a decoded JSON value has a NUL in any string.
func holdsNUL(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.IndexByte(v, 0) >= 0
	case []any:
		for _, e := range v {
			if holdsNUL(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range v {
			if strings.IndexByte(k, 0) >= 0 || holdsNUL(e) {
				return true
			}
		}
	}
	return false
}
