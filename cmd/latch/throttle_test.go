package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// loginPost is a sign-in form post that reports errors instead of failing
// the test, for goroutines.
func loginPost(l *testLatch, b *browser, form url.Values) (*http.Response, error) {
	req, err := http.NewRequest("POST", l.url+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", b.ua)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", l.url)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.client.Do(req)
}

// signInForm opens the sign-in page in b and fills it with l's account.
func signInForm(l *testLatch, b *browser) (url.Values, error) {
	resp, err := b.client.Get(l.url + "/login")
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	form := hiddenFields(string(body))
	form.Set("email", l.email)
	form.Set("password", testPassword)
	return form, nil
}

// TestConcurrentSignIns (issue 9): correct sign-ins of one account racing
// each other never answer 5xx. 100 at once: each signs in or is told to wait
// (the throttle counts attempts before checking them). 4 browsers signing
// in 25 times each, so that counting and clearing interleave: every one of
// the 100 signs in.
func TestConcurrentSignIns(t *testing.T) {
	l := startLatch(t)
	type result struct {
		code       int
		path       string
		retryAfter string
		err        error
	}
	const n = 100
	forms := make([]url.Values, n)
	browsers := make([]*browser, n)
	for i := range n {
		browsers[i] = l.browser()
		var err error
		if forms[i], err = signInForm(l, browsers[i]); err != nil {
			t.Fatal(err)
		}
	}
	results := make(chan result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := loginPost(l, browsers[i], forms[i])
			if err != nil {
				results <- result{err: err}
				return
			}
			resp.Body.Close()
			results <- result{code: resp.StatusCode, path: resp.Request.URL.Path, retryAfter: resp.Header.Get("Retry-After")}
		}()
	}
	close(start)
	wg.Wait()
	close(results)
	var in, waited int
	for r := range results {
		switch {
		case r.err != nil:
			t.Fatal(r.err)
		case r.code >= 500:
			t.Errorf("a correct sign-in answered %d", r.code)
		case r.code == http.StatusOK && r.path == "/account":
			in++
		case r.code == http.StatusTooManyRequests && r.retryAfter != "":
			waited++
		default:
			t.Errorf("a correct sign-in answered %d at %s", r.code, r.path)
		}
	}
	if in == 0 {
		t.Fatal("none of 100 concurrent correct sign-ins got in")
	}
	t.Logf("100 at once: %d signed in, %d told to wait", in, waited)

	// 4 browsers × 25 sign-ins: at most 4 attempts are in flight, fewer than
	// the free ones, so every sign-in gets in.
	l.clock.Add(time.Minute)
	results = make(chan result, n)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				b := l.browser()
				form, err := signInForm(l, b)
				if err != nil {
					results <- result{err: err}
					return
				}
				resp, err := loginPost(l, b, form)
				if err != nil {
					results <- result{err: err}
					return
				}
				resp.Body.Close()
				results <- result{code: resp.StatusCode, path: resp.Request.URL.Path}
			}
		}()
	}
	wg.Wait()
	close(results)
	for r := range results {
		switch {
		case r.err != nil:
			t.Fatal(r.err)
		case r.code != http.StatusOK || r.path != "/account":
			t.Errorf("one of 4×25 correct sign-ins answered %d at %s", r.code, r.path)
		}
	}
}
