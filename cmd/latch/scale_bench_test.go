package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latch-idp/latch/internal/seed"
)

// BenchmarkScale seeds a fresh database with realistic data at each size of
// LATCH_SCALE_ROWS (total rows; default "10000,100000": `make bench-scale`
// runs 10 thousand, 1 million and 10 million) and measures, over real HTTP,
// the paths that must cost the same whatever the size: refresh, userinfo
// and introspection (a token's first use, which reads the database, and
// later uses, answered from the replica's cache), the code exchange,
// ending a session and the sessions page. Every request acts for another
// seeded account, chosen at random, so nothing is warm by accident. It
// prints a table for BENCHMARKS.md.
func BenchmarkScale(b *testing.B) {
	sizes := []int{10_000, 100_000}
	if v := os.Getenv("LATCH_SCALE_ROWS"); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1000 {
				b.Fatalf("LATCH_SCALE_ROWS: %q is not a size of at least 1000 rows", f)
			}
			sizes = append(sizes, n)
		}
	}
	var report []string
	for _, rows := range sizes {
		report = append(report, scaleRun(b, rows)...)
	}
	// Printed, not logged: the testing package keeps only the first lines
	// of a benchmark's log.
	fmt.Println(strings.Join(report, "\n"))
}

const rowsPerAccount = 41 // internal/seed's shape: see its doc.go

// scaleRun seeds one database and measures it, returning table lines.
func scaleRun(b *testing.B, rows int) []string {
	accounts := max(rows/rowsPerAccount, 100)
	l := startLatch(b, func(c *Config) { c.ClientsFile = "" }) // the demo clients the seed's sessions belong to
	ctx := b.Context()
	pool := l.db.Pool
	if _, err := pool.Exec(ctx, `DELETE FROM accounts`); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := seed.Seed(ctx, pool, seed.Size{Accounts: accounts}, nil); err != nil {
		b.Fatal(err)
	}
	seeded := time.Since(start)
	var total, dbBytes int64
	if err := pool.QueryRow(ctx, `SELECT sum(n_live_tup)::bigint, pg_database_size(current_database())
		FROM pg_stat_user_tables`).Scan(&total, &dbBytes); err != nil {
		b.Fatal(err)
	}
	var tables []string
	trows, err := pool.Query(ctx, `SELECT relname::text, n_live_tup, pg_total_relation_size(relid) FROM pg_stat_user_tables
		WHERE n_live_tup > 0 ORDER BY n_live_tup DESC`)
	if err != nil {
		b.Fatal(err)
	}
	for trows.Next() {
		var name string
		var n, size int64
		if err := trows.Scan(&name, &n, &size); err != nil {
			b.Fatal(err)
		}
		tables = append(tables, fmt.Sprintf("%s %d (%.1f MiB)", name, n, float64(size)/(1<<20)))
	}

	// Accounts to act for: standard ones (advanced sessions have a 15-minute
	// idle limit that may have passed since seeding), each used once.
	var pick []int
	for i := 0; i < accounts; i++ {
		if !seed.Advanced(i) {
			pick = append(pick, i)
		}
	}
	rand.Shuffle(len(pick), func(a, c int) { pick[a], pick[c] = pick[c], pick[a] })
	n := min(2000, len(pick)/5)
	next := 0
	take := func() []int { out := pick[next : next+n]; next += n; return out }

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	results := map[string][]time.Duration{}
	// Warm up connections (the HTTP client's, latch's pool) on accounts not
	// measured afterwards.
	scaleLoad(b, take(), func(i int) (time.Duration, error) {
		req, _ := http.NewRequest("GET", l.url+"/account/sessions", nil)
		req.AddCookie(&http.Cookie{Name: "latch", Value: seed.SessionSecret(i, 0)})
		return timed(client, req)
	})
	var access []string
	var mu sync.Mutex

	// refresh, then userinfo and introspection on the new token: its first
	// use reads the database, the next ones hit the cache.
	results["refresh"] = scaleLoad(b, take(), func(i int) (time.Duration, error) {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {seed.RefreshToken(i, 0, 0)}}
		d, body, err := timedPost(client, l.url+"/oauth/token", form, "chatgpt-web", "demo-chatgpt-secret-not-for-production")
		if err == nil {
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			json.Unmarshal(body, &tok)
			mu.Lock()
			access = append(access, tok.AccessToken)
			mu.Unlock()
		}
		return d, err
	})
	tokenAt := func(i int) string { return access[i%len(access)] }
	idx := make([]int, len(access))
	for i := range idx {
		idx[i] = i
	}
	for _, pass := range []string{"first use", "cached"} {
		results["userinfo, "+pass] = scaleLoad(b, idx, func(i int) (time.Duration, error) {
			req, _ := http.NewRequest("GET", l.url+"/userinfo", nil)
			req.Header.Set("Authorization", "Bearer "+tokenAt(i))
			return timed(client, req)
		})
	}
	// Introspection reads the same cache: it is measured on tokens of its own.
	var access2 []string
	results["refresh"] = append(results["refresh"], scaleLoad(b, take(), func(i int) (time.Duration, error) {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {seed.RefreshToken(i, 1, 0)}}
		d, body, err := timedPost(client, l.url+"/oauth/token", form, "chatgpt-web", "demo-chatgpt-secret-not-for-production")
		if err == nil {
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			json.Unmarshal(body, &tok)
			mu.Lock()
			access2 = append(access2, tok.AccessToken)
			mu.Unlock()
		}
		return d, err
	})...)
	for _, pass := range []string{"first use", "cached"} {
		results["introspection, "+pass] = scaleLoad(b, idx[:min(len(idx), len(access2))], func(i int) (time.Duration, error) {
			d, body, err := timedPost(client, l.url+"/oauth/introspect", url.Values{"token": {access2[i]}},
				"chatgpt-web", "demo-chatgpt-secret-not-for-production")
			if err == nil && !strings.Contains(string(body), `"active":true`) {
				err = fmt.Errorf("inactive: %s", body)
			}
			return d, err
		})
	}

	// The code exchange: an SSO authorization request in a seeded session
	// (untimed), then the exchange.
	rp := oauth2.Config{ClientID: "chatgpt-web", ClientSecret: "demo-chatgpt-secret-not-for-production",
		RedirectURL: "http://localhost:9001/callback", Scopes: []string{"openid", "email", "offline_access"},
		Endpoint: oauth2.Endpoint{AuthURL: l.url + "/authorize", TokenURL: l.url + "/oauth/token", AuthStyle: oauth2.AuthStyleInHeader}}
	results["code exchange"] = scaleLoad(b, take(), func(i int) (time.Duration, error) {
		jar := seededJar(l.url, seed.SessionSecret(i, 0))
		browser := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
			if !strings.HasPrefix(r.URL.String(), l.url) {
				return http.ErrUseLastResponse
			}
			return nil
		}}
		verifier := oauth2.GenerateVerifier()
		resp, err := browser.Get(rp.AuthCodeURL("state-"+strconv.Itoa(i), oauth2.S256ChallengeOption(verifier)))
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		code := loc.Query().Get("code")
		if code == "" {
			return 0, fmt.Errorf("no code: %d %s", resp.StatusCode, loc)
		}
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
			"redirect_uri": {rp.RedirectURL}}
		d, _, err := timedPost(client, l.url+"/oauth/token", form, rp.ClientID, rp.ClientSecret)
		return d, err
	})

	// The sessions page of a seeded person, then ending their other device
	// from the sessions API.
	ends := take()
	results["sessions page"] = scaleLoad(b, ends, func(i int) (time.Duration, error) {
		req, _ := http.NewRequest("GET", l.url+"/account/sessions", nil)
		req.AddCookie(&http.Cookie{Name: "latch", Value: seed.SessionSecret(i, 0)})
		return timed(client, req)
	})
	results["end a session"] = scaleLoad(b, ends, func(i int) (time.Duration, error) {
		req, _ := http.NewRequest("POST", l.url+"/api/account/sessions/"+seed.DeviceID(i, 1)+"/end", nil)
		req.AddCookie(&http.Cookie{Name: "latch", Value: seed.SessionSecret(i, 0)})
		req.AddCookie(&http.Cookie{Name: "latch_csrf", Value: "scale-bench-csrf-token-0123456789abcdef0123"})
		req.Header.Set("X-CSRF-Token", "scale-bench-csrf-token-0123456789abcdef0123")
		req.Header.Set("Origin", l.url)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		return timed(client, req)
	})

	names := make([]string, 0, len(results))
	for k := range results {
		names = append(names, k)
	}
	sort.Strings(names)
	out := []string{fmt.Sprintf("## %d rows: %d accounts, seeded in %s, database %.0f MiB, %.1f kB per account",
		total, accounts, seeded.Round(time.Second), float64(dbBytes)/(1<<20), float64(dbBytes)/float64(accounts)/1000),
		"tables: " + strings.Join(tables, ", "),
		"| path | requests | p50 ms | p90 ms | p99 ms |", "|---|---|---|---|---|"}
	for _, k := range names {
		d := results[k]
		out = append(out, fmt.Sprintf("| %s | %d | %.2f | %.2f | %.2f |", k, len(d), percentile(d, 0.5), percentile(d, 0.9), percentile(d, 0.99)))
		b.ReportMetric(percentile(d, 0.5), strings.ReplaceAll(strings.ReplaceAll(k, ", ", "-"), " ", "-")+"-p50-ms")
	}
	l.stop()
	return out
}

// scaleLoad runs f for every item with eight workers and returns the
// latencies; any error fails the benchmark.
func scaleLoad(b *testing.B, items []int, f func(int) (time.Duration, error)) []time.Duration {
	var mu sync.Mutex
	var out []time.Duration
	var firstErr error
	work := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				d, err := f(i)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				out = append(out, d)
				mu.Unlock()
			}
		}()
	}
	for _, i := range items {
		work <- i
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	return out
}

// timed sends req and returns how long the answer took; anything but 200 is
// an error.
func timed(c *http.Client, req *http.Request) (time.Duration, error) {
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		return d, fmt.Errorf("%s %s: %d %.300s", req.Method, req.URL.Path, resp.StatusCode, body)
	}
	return d, nil
}

// timedPost posts a form with HTTP Basic client authentication.
func timedPost(c *http.Client, target string, form url.Values, id, secret string) (time.Duration, []byte, error) {
	req, _ := http.NewRequestWithContext(context.Background(), "POST", target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		return d, body, fmt.Errorf("POST %s: %d %.300s", target, resp.StatusCode, body)
	}
	return d, body, nil
}

// seededJar is a cookie jar holding a seeded session's cookie.
func seededJar(base, secret string) http.CookieJar {
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(base)
	jar.SetCookies(u, []*http.Cookie{{Name: "latch", Value: secret, Path: "/"}})
	return jar
}
