package main

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzSessionsAPI attacks the sessions API as a signed-in person would:
// any session id in the path, any body to the end-many call, any value in
// the session cookie. Whatever arrives, latch answers without a server
// error, and another account's session is never touched.
func FuzzSessionsAPI(f *testing.F) {
	l := startLatch(f)
	if _, err := l.srv.Accounts().Create(f.Context(), "eve@example.com", "Eve", testPassword); err != nil {
		f.Fatal(err)
	}
	me := l.browser()
	me.signInPassword(l.email, testPassword).Body.Close()
	eve := l.browser()
	eve.signInPassword("eve@example.com", testPassword).Body.Close()
	eveCookie := eve.session()
	eveSid := l.sid(eveCookie)
	csrf := me.csrf()
	myCookie := me.session()

	for _, seed := range []struct {
		id, body, cookie string
	}{
		{eveSid, `{"ids": ["` + eveSid + `"]}`, ""},
		{"not-an-id", `{"ids": []}`, "garbage"},
		{"00000000-0000-0000-0000-000000000000", `{"all_others": true, "ids": ["x"]}`, ""},
		{"%00", `{"ids": ["\u0000"]}`, "\x00"},
		{strings.Repeat("a", 5000), `{"ids": ` + strings.Repeat("[", 10000) + `}`, strings.Repeat("z", 5000)},
		{eveSid + "/apps/chatgpt-web", `{"ids": [1, 2, {"a": null}]}`, myCookie + "x"},
		{"../../sessions", `[]`, ""},
		{"", "\xff\xfe", ""},
	} {
		f.Add(seed.id, []byte(seed.body), seed.cookie)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(t *testing.T, method, path string, body []byte, cookie string) int {
		req, err := http.NewRequest(method, l.url+path, bytes.NewReader(body))
		if err != nil {
			return 0 // not a request a client could send
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", l.url)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("X-CSRF-Token", csrf)
		req.AddCookie(&http.Cookie{Name: "latch_csrf", Value: csrf})
		if cookie != "" {
			req.Header.Add("Cookie", "latch="+cookie)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s with %q: %d %s", method, path, body, resp.StatusCode, out)
		}
		return resp.StatusCode
	}
	f.Fuzz(func(t *testing.T, id string, body []byte, cookie string) {
		// A browser sends no control characters or ';' inside one cookie.
		if strings.ContainsFunc(cookie, func(r rune) bool { return r < 0x20 || r == 0x7f || r == ';' }) {
			cookie = url.QueryEscape(cookie)
		}
		// Ada's own cookie, and whatever the fuzzer made of a cookie.
		for _, c := range []string{myCookie, cookie} {
			send(t, "GET", "/api/account/sessions", nil, c)
			send(t, "POST", "/api/account/sessions/"+url.PathEscape(id)+"/end", nil, c)
			send(t, "POST", "/api/account/sessions/"+id+"/end", nil, c)
			send(t, "POST", "/api/account/sessions/end", body, c)
		}
		if _, err := l.srv.Sessions().BySecret(t.Context(), eveCookie); err != nil {
			t.Fatalf("Eve's session %s was ended by Ada's requests (id %q, body %q)", eveSid, id, body)
		}
	})
}
