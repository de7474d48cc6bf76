package main

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzConnectedAppsAPI attacks the connected apps API and page as a
// signed-in person would: any client id in the path, any body. Whatever
// arrives, latch answers without a server error, and another account's
// consent, app session and token are never touched.
func FuzzConnectedAppsAPI(f *testing.F) {
	l := startLatch(f)
	if _, err := l.srv.Accounts().Create(f.Context(), "eve@example.com", "Eve", testPassword); err != nil {
		f.Fatal(err)
	}
	me := l.browser()
	me.signInPassword(l.email, testPassword).Body.Close()
	eveLatch := *l
	eveLatch.email = "eve@example.com"
	eve := eveLatch.browser()
	eves := eve.signInFlow(l.outsider("openid", "email"))
	csrf := me.csrf()
	myCookie := me.session()

	for _, seed := range []struct {
		client, body string
	}{
		{"outsider", ""},
		{"app-a", `{}`},
		{"%00", "\x00"},
		{"outsider\x00", ""},
		{strings.Repeat("a", 5000), strings.Repeat("[", 10000)},
		{"../sessions/end", `{"all_others": true}`},
		{"outsider/remove", "\xff\xfe"},
		{"", ""},
	} {
		f.Add(seed.client, []byte(seed.body))
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(t *testing.T, method, path string, body []byte, form bool) {
		req, err := http.NewRequest(method, l.url+path, bytes.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		req.Header.Set("Content-Type", "application/json")
		if form {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.Header.Set("Origin", l.url)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("X-CSRF-Token", csrf)
		req.AddCookie(&http.Cookie{Name: "latch_csrf", Value: csrf})
		req.AddCookie(&http.Cookie{Name: "latch", Value: myCookie})
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s with %q: %d %s", method, path, body, resp.StatusCode, out)
		}
	}
	f.Fuzz(func(t *testing.T, clientID string, body []byte) {
		send(t, "GET", "/api/account/apps", nil, false)
		for _, p := range []string{url.PathEscape(clientID), clientID} {
			send(t, "POST", "/api/account/apps/"+p+"/remove", body, false)
			send(t, "GET", "/account/apps/"+p+"/remove", nil, false)
			form := append([]byte("csrf_token="+url.QueryEscape(csrf)+"&"), body...)
			send(t, "POST", "/account/apps/"+p+"/remove", form, true)
		}
		var consents int
		if err := l.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM consents c JOIN accounts a ON a.id = c.account_id
			WHERE a.email = 'eve@example.com'`).Scan(&consents); err != nil {
			t.Fatal(err)
		}
		if consents != 1 || !activeAs(t, l.url, "outsider", outsiderSecret, eves.AccessToken) {
			t.Fatalf("Eve's connected app was removed by Ada's requests (client %q, body %q)", clientID, body)
		}
	})
}
