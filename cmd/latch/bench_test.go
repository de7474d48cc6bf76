package main

import (
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"latch/sessions"
)

// percentile returns the p-th percentile of sorted durations, in ms.
func percentile(d []time.Duration, p float64) float64 {
	slices.Sort(d)
	i := int(float64(len(d)-1) * p)
	return float64(d[i].Microseconds()) / 1000
}

// BenchmarkEndPropagation measures, over at least 1,000 ends, the time from
// the end request on replica A to (a) replica B refusing the ended cookie
// and (b) the app's back-channel receiver holding the logout token.
func BenchmarkEndPropagation(b *testing.B) {
	l, rcv := startLatchWithReceiver(b)
	replica := l.replica()
	ctx := b.Context()
	acct, _ := l.srv.accounts.ByEmail(ctx, l.email)
	controller := l.browser()
	controller.signInPassword(l.email, testPassword).Body.Close()
	csrf := hiddenFields(page(b, controller.do("GET", "/account/sessions", nil)))
	n := max(b.N, 1000)
	var toReplica, toApp []time.Duration
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	alive := func(secret string) bool {
		req, _ := http.NewRequest("GET", replica.base+"/account", nil)
		req.AddCookie(&http.Cookie{Name: "latch", Value: secret})
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	b.ResetTimer()
	for i := 0; i < n; i++ {
		b.StopTimer()
		d, secret, err := l.srv.sessions.Create(ctx, sessions.NewDevice{AccountID: acct.ID, Mode: "standard", IP: netip.MustParseAddr("127.0.0.1")})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := l.srv.sessions.AppSession(ctx, l.srv.db.Pool, d.ID, acct.ID, "app-a"); err != nil {
			b.Fatal(err)
		}
		if !alive(secret) { // replica B now has it cached
			b.Fatal("replica B refuses a live session")
		}
		b.StartTimer()
		start := time.Now()
		controller.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp := controller.do("POST", "/account/sessions/"+d.ID+"/end", csrf)
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			b.Fatalf("end: %d", resp.StatusCode)
		}
		for alive(secret) {
		}
		toReplica = append(toReplica, time.Since(start))
		select {
		case <-rcv.got:
			toApp = append(toApp, time.Since(start))
		case <-time.After(10 * time.Second):
			b.Fatal("no logout token")
		}
	}
	b.StopTimer()
	b.ReportMetric(percentile(toReplica, 0.5), "replica-p50-ms")
	b.ReportMetric(percentile(toReplica, 0.99), "replica-p99-ms")
	b.ReportMetric(percentile(toApp, 0.5), "backchannel-p50-ms")
	b.ReportMetric(percentile(toApp, 0.99), "backchannel-p99-ms")
	b.Logf("%d ends: replica p50 %.2f ms p99 %.2f ms; back-channel p50 %.2f ms p99 %.2f ms", len(toApp),
		percentile(toReplica, 0.5), percentile(toReplica, 0.99), percentile(toApp, 0.5), percentile(toApp, 0.99))
}

// BenchmarkSessionsPage1000 measures the sessions page (its first page of
// fifty devices) and the JSON API (all of them) for an account with 1,000
// live device sessions, each with an app.
func BenchmarkSessionsPage1000(b *testing.B) {
	l := startLatch(b)
	ctx := b.Context()
	acct, _ := l.srv.accounts.ByEmail(ctx, l.email)
	for i := 0; i < 999; i++ {
		d, _, err := l.srv.sessions.Create(ctx, sessions.NewDevice{AccountID: acct.ID, Mode: "standard",
			UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", IP: netip.MustParseAddr("81.2.69.142")})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := l.srv.sessions.AppSession(ctx, l.srv.db.Pool, d.ID, acct.ID, "app-a"); err != nil {
			b.Fatal(err)
		}
	}
	me := l.browser()
	me.signInPassword(l.email, testPassword).Body.Close()
	for _, path := range []string{"/account/sessions", "/api/account/sessions"} {
		b.Run(strings.TrimPrefix(strings.ReplaceAll(path, "/", "_"), "_"), func(b *testing.B) {
			var lat []time.Duration
			for i := 0; i < max(b.N, 50); i++ {
				start := time.Now()
				resp := me.do("GET", path, nil)
				body := page(b, resp)
				lat = append(lat, time.Since(start))
				// The page shows the first fifty devices; the API lists all.
				want := 999
				if path == "/account/sessions" {
					want = sessions.DevicePageSize - 1
				}
				if resp.StatusCode != 200 || strings.Count(body, "Firefox on Windows") < want {
					b.Fatalf("%s: %d, %d sessions shown", path, resp.StatusCode, strings.Count(body, "Firefox on Windows"))
				}
			}
			b.ReportMetric(percentile(lat, 0.5), "p50-ms")
			b.ReportMetric(percentile(lat, 0.99), "p99-ms")
			b.Logf("%s with 1,000 sessions: p50 %.1f ms, p99 %.1f ms over %d requests", path, percentile(lat, 0.5), percentile(lat, 0.99), len(lat))
		})
	}
}
