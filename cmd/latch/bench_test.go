package main

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/netip"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latch-idp/latch/sessions"
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
	acct, _ := l.srv.Accounts().ByEmail(ctx, l.email)
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
		d, secret, err := l.srv.Sessions().Create(ctx, sessions.NewDevice{AccountID: acct.ID, Mode: "standard", IP: netip.MustParseAddr("127.0.0.1")})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := l.srv.Sessions().AppSession(ctx, l.srv.Sessions().DB, d.ID, acct.ID, "app-a"); err != nil {
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
	acct, _ := l.srv.Accounts().ByEmail(ctx, l.email)
	for i := 0; i < 999; i++ {
		d, _, err := l.srv.Sessions().Create(ctx, sessions.NewDevice{AccountID: acct.ID, Mode: "standard",
			UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", IP: netip.MustParseAddr("81.2.69.142")})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := l.srv.Sessions().AppSession(ctx, l.srv.Sessions().DB, d.ID, acct.ID, "app-a"); err != nil {
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

// BenchmarkConcurrentSignIns fires 200 and then 400 password sign-ins at
// once (unknown emails, each worth one argon2id) and reports how far this
// process's RSS rose, the median latency, and how many were checked (401)
// or answered busy (503).
func BenchmarkConcurrentSignIns(b *testing.B) {
	for _, n := range []int{200, 400} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			l := startLatch(b, realArgon2)
			load := concurrentSignIns(b, l, n)
			b.ReportMetric(float64(load.peakKiB-load.baseKiB)/1024, "rss-growth-MiB")
			b.ReportMetric(float64(load.peakKiB)/1024, "rss-peak-MiB")
			b.ReportMetric(percentile(load.latencies, 0.5), "p50-ms")
			b.ReportMetric(float64(load.codes[http.StatusUnauthorized]), "checked")
			b.ReportMetric(float64(load.codes[http.StatusServiceUnavailable]), "busy")
			b.Logf("%d concurrent sign-ins: %v; RSS %d → %d MiB; p50 %.0f ms, p99 %.0f ms", n, load.codes,
				load.baseKiB>>10, load.peakKiB>>10, percentile(load.latencies, 0.5), percentile(load.latencies, 0.99))
		})
	}
}

// BenchmarkMultipartFlood sends 20 concurrent 40 MB multipart bodies to
// /login with a made-up CSRF cookie and reports how far RSS rose and how
// much the temporary directory grew meanwhile.
func BenchmarkMultipartFlood(b *testing.B) {
	l := startLatch(b)
	tmp := b.TempDir()
	b.Setenv("TMPDIR", tmp) // where a multipart parser would spill
	runtime.GC()
	debug.FreeOSMemory()
	base, peak := rssKiB(b, "VmRSS"), int64(0)
	var tmpPeak int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			peak = max(peak, rssKiB(b, "VmRSS"))
			tmpPeak = max(tmpPeak, dirSize(tmp))
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	codes := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Streamed, so the 40 MB are not held here: only latch's
			// memory is measured.
			var head bytes.Buffer
			mw := multipart.NewWriter(&head)
			mw.WriteField("csrf_token", "made-up")
			mw.CreateFormFile("file", "big.bin")
			tail := "\r\n--" + mw.Boundary() + "--\r\n"
			body := io.MultiReader(&head, io.LimitReader(xs{}, 40<<20), strings.NewReader(tail))
			req, _ := http.NewRequest("POST", l.url+"/login", body)
			req.ContentLength = int64(head.Len()) + 40<<20 + int64(len(tail))
			req.Header.Set("Content-Type", mw.FormDataContentType())
			req.Header.Set("Cookie", "latch_csrf=made-up")
			code := -1
			if resp, err := http.DefaultClient.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				code = resp.StatusCode
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled
	b.ReportMetric(float64(peak-base)/1024, "rss-growth-MiB")
	b.ReportMetric(float64(tmpPeak)/(1<<20), "tmp-MiB")
	b.Logf("20 × 40 MB multipart to /login: %v; RSS %d → %d MiB; temporary files up to %d MiB", codes, base>>10, peak>>10, tmpPeak>>20)
}

// xs reads as an endless run of "x".
type xs struct{}

func (xs) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// dirSize is the total size of the files under dir.
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
