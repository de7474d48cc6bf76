package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/oauth2"

	"github.com/latch-idp/latch/internal/seed"
)

// hotTables are the tables every hot path reads: with the rows of a real
// deployment in them, a key lookup that scans one is a defect.
var hotTables = []string{"accounts", "passwords", "device_sessions", "app_sessions", "access_tokens", "refresh_tokens",
	"auth_requests", "passkeys", "trusted_devices", "known_devices", "activity", "logout_jobs", "signin_failures", "consents",
	"device_authorizations", "agent_sessions"}

// recorder is a pgx tracer that keeps every statement latch sends while on.
type recorder struct {
	on   atomic.Bool
	mu   sync.Mutex
	seen map[string][]any // SQL → the arguments of its first use
}

func (r *recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if r.on.Load() {
		r.mu.Lock()
		if _, ok := r.seen[d.SQL]; !ok {
			r.seen[d.SQL] = slices.Clone(d.Args)
		}
		r.mu.Unlock()
	}
	return ctx
}

func (r *recorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// seqScans returns pg_stat_user_tables.seq_scan of the hot tables. The pool's
// connections are closed first: a backend reports its counts when it ends.
func seqScans(t *testing.T, l *testLatch) map[string]int64 {
	t.Helper()
	l.db.Pool.Reset()
	time.Sleep(1500 * time.Millisecond)
	conn, err := pgx.Connect(t.Context(), l.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(t.Context(), `SELECT relname::text, seq_scan FROM pg_stat_user_tables WHERE relname = ANY($1)`, hotTables)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			t.Fatal(err)
		}
		out[name] = n
	}
	return out
}

// padSQL tops the tables the seeded accounts leave below 100,000 rows up
// with one more account each (an ended session, an ended app session, an
// authorization request of the last twenty minutes and a passkey), and
// failed sign-ins for 100,000 guessed emails of the last hour (an attack in
// progress), so that every hot table holds at least 100,000 rows with a
// realistic spread of keys and ages (the sweeps keep nothing older). The
// tables of agents and device authorizations, which the seeded accounts
// fill least, get 30,000 more rows each, enough that a query without its
// index scans them (every row costs the test's seeding time): for 3 in 10
// of those accounts the ended app session is an agent's, and device
// authorizations of the last 70 minutes that nobody approves (a script
// asking for codes, or tools started and abandoned: pending, then
// expired).
const padSQL = `
INSERT INTO accounts (id, email, email_key, name, created_at, webauthn_id)
SELECT md5('pad-acct-' || i)::uuid, 'pad-' || i || '@pad.example', 'pad-' || i || '@pad.example', 'Pad ' || i, now() - interval '30 days',
	decode(md5('pad-wa-' || i) || md5('pad-wa2-' || i), 'hex')
FROM generate_series(1, $1::int) i;
INSERT INTO device_sessions (id, account_id, secret_hash, created_at, auth_time, last_active_at, idle_timeout,
	absolute_expires_at, ended_at, end_reason, device_name, device_kind)
SELECT md5('pad-dev-' || i)::uuid, md5('pad-acct-' || i)::uuid, decode(md5('pad-secret-' || i) || md5('pad-s2-' || i), 'hex'),
	now() - interval '20 days', now() - interval '20 days', now() - interval '19 days', interval '14 days',
	now() + interval '10 days', now() - interval '19 days', 'signed_out', 'Firefox on Linux', 'desktop'
FROM generate_series(1, $1::int) i;
INSERT INTO app_sessions (id, device_session_id, account_id, client_id, created_at, last_active_at, ended_at, end_reason)
SELECT md5('pad-app-' || i)::uuid, md5('pad-dev-' || i)::uuid, md5('pad-acct-' || i)::uuid,
	CASE WHEN i <= $1::int * 3 / 10 THEN 'runner' ELSE 'app-a' END,
	now() - interval '20 days', now() - interval '19 days', now() - interval '19 days', 'signed_out'
FROM generate_series(1, $1::int) i;
INSERT INTO auth_requests (id, client_id, params, created_at, expires_at, account_id, device_session_id, auth_time,
	amr, acr, code_hash, code_expires_at, code_used_at)
SELECT md5('pad-req-' || i)::uuid, 'app-a', '{"scopes":["openid"],"redirect_uri":"http://localhost:47001/callback"}',
	now() - (i % 1200) * interval '1 second', now() - (i % 1200) * interval '1 second' + interval '30 minutes',
	md5('pad-acct-' || i)::uuid, md5('pad-dev-' || i)::uuid,
	now() - (i % 1200) * interval '1 second', '{pwd}', '', decode(md5('pad-code-' || i) || md5('pad-c2-' || i), 'hex'),
	now() - (i % 1200) * interval '1 second' + interval '1 minute', now() - (i % 1200) * interval '1 second'
FROM generate_series(1, $1::int) i;
INSERT INTO signin_failures (email_key, failures, last_failed_at)
SELECT 'guess-' || i || '@pad.example', 1 + i % 4, now() - (i % 3600) * interval '1 second'
FROM generate_series(1, $1::int) i;
INSERT INTO passkeys (id, account_id, name, credential, backup_eligible, backup_state, created_at)
SELECT decode(md5('pad-pk-' || i), 'hex'), md5('pad-acct-' || i)::uuid, 'Pad passkey', '{}', false, false, now() - interval '20 days'
FROM generate_series(1, $1::int) i;
INSERT INTO agent_sessions (app_session_id, account_id, device_session_id, agent_id, started_by, scopes, started_at, renewed_at, expires_at)
SELECT md5('pad-app-' || i)::uuid, md5('pad-acct-' || i)::uuid, md5('pad-dev-' || i)::uuid, 'runner', 'app-a', '{files:read}',
	now() - interval '20 days', now() - interval '19 days', now() - interval '19 days' + interval '2 hours'
FROM generate_series(1, $1::int * 3 / 10) i;
INSERT INTO device_authorizations (id, client_id, device_code_hash, user_code_hash, scopes, user_agent, created_at, expires_at,
	interval_seconds, last_polled_at)
SELECT md5('pad-da-' || i)::uuid, 'codex-cli', sha256(('pad-device-code-' || i)::bytea), sha256(('pad-user-code-' || i)::bytea),
	'{openid,offline_access}', 'curl/8.5.0', c.at, c.at + interval '10 minutes', 5,
	least(now(), c.at + (i % 120) * interval '5 seconds')
FROM generate_series(1, $1::int * 3 / 10) i, LATERAL (SELECT now() - (i % 4200) * interval '1 second' AS at OFFSET 0) c;
`

// TestHotPathsUseIndexes seeds the hot tables with 100,000 rows and more,
// runs every hot path through real HTTP (password and passkey sign-in, a
// seeded session's cookie, code exchange, refresh, userinfo, introspection,
// revocation, the sessions page and API, ending a session, renaming one,
// the activity page, a third-party app's consent and its removal on the
// page and in the API, a command-line sign-in with the device grant from
// request to tokens, an agent's token exchange, refresh and introspection
// and stopping it, the sweeps) and
// fails if PostgreSQL scanned a hot table for any of it, or if the plan of
// any statement latch sent on the way has a sequential scan of one.
func TestHotPathsUseIndexes(t *testing.T) {
	rec := &recorder{seen: map[string][]any{}}
	// The test apps, codex-cli (the device grant) and the agents.
	l, _ := startLatchWithAgents(t, func(c *Config) { c.queryTracer = rec })
	ctx := t.Context()
	pool := l.db.Pool
	if _, err := pool.Exec(ctx, `DELETE FROM accounts`); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	const accounts = 12_500 // 100,000 access tokens, 150,000 refresh tokens
	if err := seed.Seed(ctx, pool, seed.Size{Accounts: accounts}, nil); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range strings.Split(padSQL, ";\n") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := pool.Exec(ctx, stmt, 100_000); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.srv.Accounts().Create(ctx, l.email, "Ada Lovelace", testPassword); err != nil {
		t.Fatal(err)
	}
	for _, tb := range hotTables {
		// Autovacuum and autoanalyze must not scan behind the test's back.
		if _, err := pool.Exec(ctx, `ALTER TABLE `+tb+` SET (autovacuum_enabled = false)`); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `ANALYZE `+tb); err != nil {
			t.Fatal(err)
		}
	}
	for tb, least := range map[string]int{"accounts": 100_000, "device_sessions": 100_000, "app_sessions": 100_000,
		"access_tokens": 100_000, "refresh_tokens": 100_000, "auth_requests": 100_000, "passkeys": 100_000,
		"signin_failures": 100_000, "agent_sessions": 30_000, "device_authorizations": 30_000} {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+tb).Scan(&n); err != nil || n < least {
			t.Fatalf("%s has %d rows (%v), want at least %d", tb, n, err, least)
		}
	}
	t.Logf("seeded in %s", time.Since(start).Round(time.Millisecond))

	// Set-up that latch itself would not do (a passkey whose key the test
	// holds) happens before counting.
	seeded, err := l.srv.Accounts().ByEmail(ctx, seed.Email(0))
	if err != nil {
		t.Fatal(err)
	}
	key := holdPasskey(t, l, seeded.ID, "Test key", false, 1)

	before := seqScans(t, l)
	rec.on.Store(true)
	hotPaths(t, l, key)
	rec.on.Store(false)
	after := seqScans(t, l)

	var grew []string
	for _, tb := range hotTables {
		if after[tb] > before[tb] {
			grew = append(grew, fmt.Sprintf("%s (+%d)", tb, after[tb]-before[tb]))
		}
	}
	if len(grew) > 0 {
		t.Errorf("sequential scans of hot tables during the hot paths: %s", strings.Join(grew, ", "))
	}

	// Every statement latch sent: its plan, with the arguments it was sent
	// with, must not scan a hot table.
	conn, err := pgx.Connect(ctx, l.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rec.mu.Lock()
	defer rec.mu.Unlock()
	statements := make([]string, 0, len(rec.seen))
	for sql := range rec.seen {
		statements = append(statements, sql)
	}
	sort.Strings(statements)
	explained := 0
	for _, sql := range statements {
		verb := strings.ToUpper(strings.Fields(strings.TrimSpace(sql) + " x")[0])
		if !slices.Contains([]string{"SELECT", "WITH", "UPDATE", "INSERT", "DELETE"}, verb) {
			continue
		}
		var plan []map[string]any
		if err := conn.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+sql, rec.seen[sql]...).Scan(&plan); err != nil {
			t.Errorf("explain %q: %v", oneLineSQL(sql), err)
			continue
		}
		explained++
		if scanned := seqScanned(plan[0]["Plan"]); len(scanned) > 0 {
			b, _ := json.Marshal(plan)
			t.Errorf("the plan of %q scans %v:\n%s", oneLineSQL(sql), scanned, b)
		}
	}
	t.Logf("%d statements explained", explained)
	if explained < 40 {
		t.Fatalf("only %d statements recorded: the hot paths did not run", explained)
	}
}

// seqScanned returns the hot tables a plan node or its children scan.
func seqScanned(node any) []string {
	n, ok := node.(map[string]any)
	if !ok {
		return nil
	}
	var out []string
	if n["Node Type"] == "Seq Scan" {
		if rel, _ := n["Relation Name"].(string); slices.Contains(hotTables, rel) {
			out = append(out, rel)
		}
	}
	if kids, ok := n["Plans"].([]any); ok {
		for _, k := range kids {
			out = append(out, seqScanned(k)...)
		}
	}
	return out
}

func oneLineSQL(s string) string { return strings.Join(strings.Fields(s), " ") }

// hotPaths drives every path that must stay an index lookup.
func hotPaths(t *testing.T, l *testLatch, key *heldPasskey) {
	t.Helper()
	// A seeded person signs in with their password, an app exchanges the
	// code, refreshes, and calls userinfo and introspection.
	seededLatch := *l
	seededLatch.email = seed.Email(0)
	b := seededLatch.browser()
	b.l = &seededLatch
	if resp := b.signIn(b.do("GET", "/login", nil), seed.Email(0), seed.Password()); resp.Request.URL.Path != "/account" {
		t.Fatalf("seeded password sign-in ended at %s", resp.Request.URL)
	}
	a, bApp := l.appA(), l.appB()
	tok := b.signInFlow(a)
	next, err := a.refresh(tok.RefreshToken)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if a.userinfo(next.AccessToken) != http.StatusOK {
		t.Fatal("userinfo refused a live token")
	}
	opaque := b.signInFlow(bApp)
	if !introspectAt(t, l.url, opaque.AccessToken) {
		t.Fatal("introspection says a live token is inactive")
	}
	// A refused refresh (reuse) and a revocation.
	if _, err := a.refresh(tok.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("reused refresh token: %v", err)
	}
	if status, _, _ := postForm(t, l.url+"/revoke", url.Values{"token": {opaque.RefreshToken}}, "app-b", "beta-secret-0123456789"); status != 200 {
		t.Fatalf("revoke: %d", status)
	}
	// The cookie of a seeded session, the sessions page and API.
	if !signedInAt(t, l.url, "/account", seed.SessionSecret(1, 0)) {
		t.Fatal("a seeded session's cookie is refused")
	}
	if resp := b.do("GET", "/account/sessions", nil); resp.StatusCode != 200 {
		t.Fatalf("sessions page: %d", resp.StatusCode)
	} else {
		resp.Body.Close()
	}
	req, _ := http.NewRequest("GET", l.url+"/api/account/sessions", nil)
	for _, c := range b.client.Jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("sessions API: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	// An app that is not latch's own: its consent, a code exchange that
	// holds it, the connected apps page and API, and removing its access.
	b.signInFlow(l.outsider("openid", "email", "offline_access"))
	if body := page(t, b.do("GET", "/account/apps", nil)); !strings.Contains(body, `data-client="outsider"`) {
		t.Fatal("the connected apps page does not list the app")
	}
	if code, apps := connectedApps(t, l, withCookie(b, false)); code != 200 || len(apps) != 1 {
		t.Fatalf("connected apps API: %d %v", code, apps)
	}
	if body := page(t, b.post("/account/apps/outsider/remove", "/account/apps/outsider/remove", nil)); !strings.Contains(body, "no longer has access") {
		t.Fatal("removing the app's access failed")
	}
	// Allowed again, and removed in the API.
	b.signInFlow(l.outsider("openid", "email"))
	if code, out := apiCall(t, l, "POST", "/api/account/apps/outsider/remove", "", withCookie(b, true)); code != 200 {
		t.Fatalf("removing the app's access in the API: %d %v", code, out)
	}
	deviceHotPaths(t, l, b)
	agentHotPaths(t, l, b)
	// A passkey sign-in in another browser, which the first then ends.
	other := seededLatch.browser()
	other.l = &seededLatch
	if status, msg := other.passkeySignIn(key, 2); status != http.StatusOK {
		t.Fatalf("passkey sign-in: %d %s", status, msg)
	}
	sid := l.sid(other.session())
	b.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp := b.post("/account/sessions", "/account/sessions/"+sid+"/end", nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("end a session: %d", resp.StatusCode)
	}
	b.client.CheckRedirect = nil
	// The page naming what ended, a device renamed, the activity.
	if body := page(t, b.do("GET", "/account/sessions", nil)); !strings.Contains(body, "Signed out of ") {
		t.Fatal("the sessions page does not name what ended")
	}
	b.post("/account/sessions", "/account/sessions/"+l.sid(b.session())+"/rename", url.Values{"name": {"Laptop"}}).Body.Close()
	if resp := b.do("GET", "/account/activity", nil); resp.StatusCode != 200 {
		t.Fatalf("activity page: %d", resp.StatusCode)
	} else {
		resp.Body.Close()
	}
	// A wrong password (the throttle) and the sweeps.
	stranger := seededLatch.browser()
	stranger.signIn(stranger.do("GET", "/login", nil), seed.Email(2), "not the password").Body.Close()
	ctx := t.Context()
	if err := l.srv.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
}

// deviceHotPaths signs a command-line app in with the device grant (RFC
// 8628): the device authorization request, a poll too soon (slow_down) and
// one on time (authorization_pending), the approval at /device in b, the
// tokens, the device code presented again (which ends the session it
// signed in), and a request b denies.
func deviceHotPaths(t *testing.T, l *testLatch, b *browser) {
	t.Helper()
	cli := l.deviceApp("codex-cli")
	poll := func(da *oauth2.DeviceAuthResponse) (int, map[string]any) {
		t.Helper()
		return tokenCall(t, l.url, "/oauth/token", "codex-cli", "-", url.Values{"client_id": {"codex-cli"},
			"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {da.DeviceCode}})
	}
	da := cli.start("build-box")
	if code, out := poll(da); out["error"] != "slow_down" {
		t.Fatalf("a poll right away: %d %v", code, out)
	}
	l.clock.Add(11 * time.Second) // the interval is 10 seconds now: 5, and 5 for the slow_down
	if code, out := poll(da); out["error"] != "authorization_pending" {
		t.Fatalf("a poll on time: %d %v", code, out)
	}
	if resp, _ := b.deviceDecision(da.UserCode, "approve"); !strings.Contains(page(t, resp), "is signed in") {
		t.Fatalf("approve: %d", resp.StatusCode)
	}
	if code, out := poll(da); code != 200 || out["refresh_token"] == nil {
		t.Fatalf("the tokens: %d %v", code, out)
	}
	if code, out := poll(da); out["error"] != "invalid_grant" {
		t.Fatalf("the device code again: %d %v", code, out)
	}
	denied := cli.start("")
	if resp, _ := b.deviceDecision(denied.UserCode, "deny"); !strings.Contains(page(t, resp), "Sign-in refused") {
		t.Fatalf("deny: %d", resp.StatusCode)
	}
	if code, out := poll(denied); out["error"] != "access_denied" {
		t.Fatalf("a poll after the denial: %d %v", code, out)
	}
}

// agentHotPaths starts an agent (app-a exchanges b's token for the
// runner's, RFC 8693), has it refresh and app-a introspect its token,
// renews it, lists the agents on the sessions page and in the API, and
// stops it, then a second one with "stop all".
func agentHotPaths(t *testing.T, l *testLatch, b *browser) {
	t.Helper()
	person := b.signInFlow(l.agentApp())
	out := startAgent(t, l, person.AccessToken, "note", "hot paths")
	code, res := tokenCall(t, l.url, "/oauth/token", "runner", "runner-secret-0123456789",
		url.Values{"grant_type": {"refresh_token"}, "refresh_token": {out["refresh_token"].(string)}})
	if code != http.StatusOK {
		t.Fatalf("the agent's refresh: %d %v", code, res)
	}
	if in := introspectAs(t, l.url, "app-a", "alpha-secret-0123456789", res["access_token"].(string)); actSub(in) != "runner" {
		t.Fatalf("introspection of the agent's token: %v", in)
	}
	startAgent(t, l, person.AccessToken) // a renewal
	if body := page(t, b.do("GET", "/account/sessions", nil)); !strings.Contains(body, "Task runner") {
		t.Fatal("the sessions page does not list the agent")
	}
	code, list := apiCall(t, l, "GET", "/api/account/agents", "", withCookie(b, false))
	agents, _ := list["agents"].([]any)
	if code != 200 || len(agents) != 1 {
		t.Fatalf("the agents API: %d %v", code, list)
	}
	id := agents[0].(map[string]any)["id"].(string)
	if code, out := apiCall(t, l, "POST", "/api/account/agents/"+id+"/end", "", withCookie(b, true)); code != 200 {
		t.Fatalf("stop the agent: %d %v", code, out)
	}
	startAgent(t, l, person.AccessToken)
	if code, out := apiCall(t, l, "POST", "/api/account/agents/end", "", withCookie(b, true)); code != 200 || out["ended"] != float64(1) {
		t.Fatalf("stop all agents: %d %v", code, out)
	}
}
