package seed

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latch-idp/latch/authn"
	"github.com/latch-idp/latch/idp"
	"github.com/latch-idp/latch/internal/pgtest"
	"github.com/latch-idp/latch/sessions"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// envAccounts overrides the number of accounts TestSeed seeds, to measure
// larger sizes by hand:
//
//	LATCH_SEED_ACCOUNTS=1000000 go test -run TestSeed -v -timeout 2h ./internal/seed/
const envAccounts = "LATCH_SEED_ACCOUNTS"

// count is how many of the accounts 0 to n-1 have i % mod == rem.
func count(n, mod, rem int) int64 {
	if n <= rem {
		return 0
	}
	return int64((n-1-rem)/mod + 1)
}

// expectedRows are the rows per table for n accounts, as the package
// documentation promises them.
func expectedRows(n int) map[string]int64 {
	N := int64(n)
	adv := count(n, 50, 7)
	withPasskey := count(n, 5, 0) + count(n, 5, 1) // standard accounts with one passkey
	agents, acting, stopped := count(n, 10, 4), count(n, 40, 4)+count(n, 40, 14), count(n, 40, 24)
	d := deviceAuthorizations(n)
	cli := d["redeemed"] + d["approved"] // approvals signed in a CLI session
	return map[string]int64{
		"accounts":              N,
		"passwords":             N - adv,
		"passkeys":              withPasskey + 2*adv,
		"recovery_keys":         10 * adv,
		"trusted_devices":       count(n, 5, 3),
		"known_devices":         N,
		"signin_failures":       count(n, 100, 42),
		"consents":              count(n, 20, 11),
		"device_sessions":       3*N + cli,
		"app_sessions":          6*N + agents + cli,
		"agent_sessions":        agents,
		"device_authorizations": count(n, 20, 13),
		"refresh_tokens":        12*N + 2*acting + d["redeemed"],
		"access_tokens":         8*N + acting + d["redeemed"],
		"logout_jobs":           2 * N,
		"auth_requests":         N,
		"activity":              5*N + agents + stopped + cli + d["denied"],
	}
}

// deviceAuthorizations counts the device authorizations of accounts 0 to
// n-1 by state: account i has one when i % 20 == 13, in the state that
// (i / 20) % 20 picks.
func deviceAuthorizations(n int) map[string]int64 {
	out := map[string]int64{}
	for s := range 20 {
		state := "approved"
		switch {
		case s < 9:
			state = "redeemed"
		case s < 13:
			state = "pending"
		case s < 17:
			state = "expired"
		case s < 19:
			state = "denied"
		}
		out[state] += count(n, 400, 13+20*s)
	}
	return out
}

func TestExpectedRowsFor2000(t *testing.T) {
	// The formulas, worked out by hand once for the default size.
	want := map[string]int64{
		"accounts": 2000, "passwords": 1960, "passkeys": 880, "recovery_keys": 400, "trusted_devices": 400,
		"known_devices": 2000, "signin_failures": 20, "consents": 100, "device_sessions": 6050,
		"app_sessions": 12250, "agent_sessions": 200, "device_authorizations": 100, "refresh_tokens": 24245,
		"access_tokens": 16145, "logout_jobs": 4000, "auth_requests": 2000, "activity": 10310,
	}
	got := expectedRows(2000)
	for table, n := range want {
		if got[table] != n {
			t.Errorf("%s: formula gives %d, want %d", table, got[table], n)
		}
	}
	if len(got) != len(want) || len(tables) != len(want) {
		t.Errorf("tables: %d formulas, %d statements, %d hand counts", len(got), len(tables), len(want))
	}
}

func TestSeed(t *testing.T) {
	n := 2000
	if v := os.Getenv(envAccounts); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatalf("%s: %v", envAccounts, err)
		}
	}
	ctx := t.Context()
	db := pgtest.New(t)
	before := time.Now()

	type total struct {
		rows int64
		took time.Duration
	}
	totals := map[string]*total{}
	inserted := map[string]int64{}
	start := time.Now()
	err := Seed(ctx, db, Size{Accounts: n}, func(table string, rows int64, took time.Duration) {
		if totals[table] == nil {
			totals[table] = &total{}
		}
		totals[table].rows += rows
		totals[table].took += took
		if !strings.HasPrefix(table, "analyze ") {
			inserted[table] += rows
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	var size int64
	if err := db.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&size); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(totals))
	for name := range totals {
		names = append(names, name)
	}
	sort.Slice(names, func(a, b int) bool { return totals[names[a]].took > totals[names[b]].took })
	t.Logf("statement time per table, summed over the batches (which run concurrently):")
	var sum int64
	for _, name := range names {
		t.Logf("%-26s %11d rows %9.2f s", name, totals[name].rows, totals[name].took.Seconds())
		sum += totals[name].rows
	}
	t.Logf("seeded %d accounts (%d rows) in %.2f s; database %d MiB, %.0f bytes per account",
		n, sum, elapsed.Seconds(), size>>20, float64(size)/float64(n))

	t.Run("rows", func(t *testing.T) {
		for table, want := range expectedRows(n) {
			var got int64
			if err := db.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want || inserted[table] != want {
				t.Errorf("%s: %d rows (statements reported %d), want %d", table, got, inserted[table], want)
			}
		}
	})

	t.Run("refuses a second seed", func(t *testing.T) {
		err := Seed(ctx, db, Size{Accounts: 1}, nil)
		if err == nil || !strings.Contains(err.Error(), "already has accounts") {
			t.Fatalf("second Seed: %v", err)
		}
	})

	t.Run("references without foreign keys hold", func(t *testing.T) {
		for name, q := range map[string]string{
			"trusted device of a session": `SELECT count(*) FROM device_sessions d
				WHERE trusted_device_id IS NOT NULL AND NOT EXISTS (SELECT FROM trusted_devices t
					WHERE t.id = d.trusted_device_id AND t.account_id = d.account_id)`,
			"logout job's device and account": `SELECT count(*) FROM logout_jobs j JOIN app_sessions a ON a.id = j.app_session_id
				WHERE a.device_session_id <> j.device_session_id OR a.account_id <> j.account_id OR a.client_id <> j.client_id`,
			"app session's account is its device's": `SELECT count(*) FROM app_sessions a JOIN device_sessions d ON d.id = a.device_session_id
				WHERE a.account_id <> d.account_id`,
			"token's account and client are its app's": `SELECT count(*) FROM (
				SELECT app_session_id, account_id, client_id FROM refresh_tokens
				UNION ALL SELECT app_session_id, account_id, client_id FROM access_tokens) t
				JOIN app_sessions a ON a.id = t.app_session_id WHERE a.account_id <> t.account_id OR a.client_id <> t.client_id`,
			"one family per app session": `SELECT count(*) FROM (SELECT app_session_id FROM (
				SELECT app_session_id, family_id FROM refresh_tokens UNION SELECT app_session_id, family_id FROM access_tokens) f
				GROUP BY app_session_id HAVING count(*) <> 1) x`,
			"auth request starts a family": `SELECT count(*) FROM auth_requests r
				WHERE NOT EXISTS (SELECT FROM refresh_tokens t WHERE t.family_id = r.id AND t.account_id = r.account_id)`,
			"activity's session is the account's": `SELECT count(*) FROM activity a
				WHERE device_session_id IS NOT NULL AND NOT EXISTS (SELECT FROM device_sessions d
					WHERE d.id = a.device_session_id AND d.account_id = a.account_id)`,
			"signin failure's email is an account's": `SELECT count(*) FROM signin_failures f
				WHERE NOT EXISTS (SELECT FROM accounts a WHERE a.email_key = f.email_key)`,
			"recovery set confirmed": `SELECT count(*) FROM accounts a WHERE security_mode = 'advanced'
				AND (SELECT count(*) FROM recovery_keys k WHERE k.account_id = a.id AND k.set_id = a.recovery_confirmed_set) <> 10`,
			"times in order": `SELECT count(*) FROM device_sessions
				WHERE NOT (created_at <= last_active_at AND last_active_at <= coalesce(ended_at, now())
					AND created_at < absolute_expires_at AND absolute_expires_at > $1)`,
			// Only a stopped agent ends before its device session.
			"app sessions inside their device session": `SELECT count(*) FROM app_sessions a JOIN device_sessions d ON d.id = a.device_session_id
				WHERE a.created_at < d.created_at OR a.last_active_at < a.created_at
					OR (a.ended_at IS DISTINCT FROM d.ended_at AND NOT (a.end_reason = 'stopped' AND d.ended_at IS NULL
						AND a.ended_at >= a.last_active_at))`,
			"agent session is its app session's": `SELECT count(*) FROM agent_sessions g JOIN app_sessions a ON a.id = g.app_session_id
				WHERE a.device_session_id <> g.device_session_id OR a.account_id <> g.account_id OR a.client_id <> g.agent_id
					OR a.created_at <> g.started_at OR g.started_at > g.renewed_at OR g.renewed_at >= g.expires_at`,
			"agent's scopes are its starter's": `SELECT count(*) FROM agent_sessions g WHERE NOT EXISTS (
				SELECT FROM refresh_tokens t JOIN app_sessions a ON a.id = t.app_session_id
				WHERE a.device_session_id = g.device_session_id AND a.client_id = g.started_by AND a.ended_at IS NULL
					AND t.scopes @> g.scopes AND a.created_at <= g.started_at)`,
			"approved device authorization's sessions": `SELECT count(*) FROM device_authorizations x
				WHERE (x.status IN ('approved', 'redeemed')) <> (x.device_session_id IS NOT NULL)
					OR (x.status = 'pending') <> (x.account_id IS NULL)
					OR (x.device_session_id IS NOT NULL AND NOT EXISTS (SELECT FROM app_sessions a JOIN device_sessions d ON d.id = a.device_session_id
						WHERE a.id = x.app_session_id AND d.id = x.device_session_id AND d.account_id = x.account_id
							AND d.kind = 'cli' AND a.client_id = x.client_id AND d.created_at = x.decided_at))`,
			"device authorization times": `SELECT count(*) FROM device_authorizations
				WHERE NOT (created_at <= last_polled_at AND created_at <= coalesce(decided_at, created_at)
					AND coalesce(decided_at, created_at) <= coalesce(redeemed_at, now()) AND (decided_at <= expires_at) IS NOT false)`,
			"approved from the account's session": `SELECT count(*) FROM device_sessions c
				WHERE (c.kind = 'cli') <> (c.approved_by_session IS NOT NULL) OR (c.approved_by_session IS NOT NULL AND NOT EXISTS (
					SELECT FROM device_sessions b WHERE b.id = c.approved_by_session AND b.account_id = c.account_id AND b.kind = 'browser'))`,
			"consent times": `SELECT count(*) FROM consents
				WHERE granted_at <> coalesce(widened_at, first_granted_at) OR widened_at < first_granted_at`,
			"rotation order": `SELECT count(*) FROM refresh_tokens r JOIN refresh_tokens c
				ON c.app_session_id = r.app_session_id AND c.rotated_at IS NULL
				WHERE r.rotated_at IS NOT NULL AND (r.created_at > r.rotated_at OR c.created_at <> r.rotated_at)`,
			"nothing in the future": `SELECT count(*) FROM (
				SELECT created_at FROM accounts UNION ALL SELECT created_at FROM device_sessions
				UNION ALL SELECT last_active_at FROM app_sessions UNION ALL SELECT created_at FROM refresh_tokens
				UNION ALL SELECT created_at FROM access_tokens UNION ALL SELECT at FROM activity
				UNION ALL SELECT code_used_at FROM auth_requests UNION ALL SELECT created_at FROM passkeys
				UNION ALL SELECT renewed_at FROM agent_sessions UNION ALL SELECT last_polled_at FROM device_authorizations
				UNION ALL SELECT decided_at FROM device_authorizations) t
				WHERE created_at > now()`,
		} {
			var bad int64
			var args []any
			if strings.Contains(q, "$1") {
				args = append(args, before)
			}
			if err := db.QueryRow(ctx, q, args...).Scan(&bad); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if bad != 0 {
				t.Errorf("%s: %d rows break it", name, bad)
			}
		}
	})

	t.Run("shape", func(t *testing.T) {
		// Each batch's times are relative to when it began, at or after
		// before; unexpired requests expire at least 26 minutes after it,
		// expired ones at most when it began.
		var advanced, advancedWithPassword, liveAccessTokens, futureRequests int64
		var unknownDevices, usedCodes, actingAgents, pendingDevices int64
		err := db.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM accounts WHERE security_mode = 'advanced' AND advanced_since IS NOT NULL),
			(SELECT count(*) FROM accounts a JOIN passwords p ON p.account_id = a.id WHERE a.security_mode = 'advanced'),
			(SELECT count(*) FROM access_tokens WHERE expires_at > $1 AND client_id IN ('chatgpt-web', 'codex-web')),
			(SELECT count(*) FROM auth_requests WHERE expires_at > $2),
			(SELECT count(*) FROM device_sessions WHERE device_kind = 'unknown' OR device_name = 'Unknown device'),
			(SELECT count(*) FROM auth_requests WHERE code_used_at IS NOT NULL),
			(SELECT count(*) FROM agent_sessions g JOIN app_sessions a ON a.id = g.app_session_id
				WHERE a.ended_at IS NULL AND g.expires_at > $2),
			(SELECT count(*) FROM device_authorizations WHERE status = 'pending' AND expires_at > $2)`,
			before, start.Add(elapsed).Add(time.Second)).Scan(
			&advanced, &advancedWithPassword, &liveAccessTokens, &futureRequests, &unknownDevices, &usedCodes,
			&actingAgents, &pendingDevices)
		if err != nil {
			t.Fatal(err)
		}
		if want := count(n, 50, 7); advanced != want || advancedWithPassword != 0 {
			t.Errorf("advanced accounts: %d (%d with a password), want %d and none", advanced, advancedWithPassword, want)
		}
		if liveAccessTokens != 4*int64(n) {
			t.Errorf("unexpired access tokens: %d, want %d", liveAccessTokens, 4*n)
		}
		if want := count(n, 20, 3); futureRequests != want && elapsed < 25*time.Minute {
			t.Errorf("auth requests not expired: %d, want %d", futureRequests, want)
		}
		if unknownDevices != 0 {
			t.Errorf("%d device sessions on an unknown device", unknownDevices)
		}
		if usedCodes != int64(n) {
			t.Errorf("%d codes used, want %d", usedCodes, n)
		}
		// Acting agents were renewed at most 50 minutes before their batch
		// began, pending device codes asked for at most 9 minutes before.
		if want := count(n, 40, 4) + count(n, 40, 14); actingAgents != want && elapsed < 9*time.Minute {
			t.Errorf("acting agents: %d, want %d", actingAgents, want)
		}
		if want := deviceAuthorizations(n)["pending"]; pendingDevices != want && elapsed < time.Minute {
			t.Errorf("pending device authorizations: %d, want %d", pendingDevices, want)
		}
	})

	t.Run("the janitor finds nothing to sweep", func(t *testing.T) {
		rows := func() int64 {
			var total int64
			for table := range expectedRows(n) {
				var c int64
				if err := db.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&c); err != nil {
					t.Fatal(err)
				}
				total += c
			}
			return total
		}
		was := rows()
		st := &idp.Storage{DB: db, Now: func() time.Time { return before }}
		if err := st.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		store := sessions.New(db, sessions.DefaultPolicy())
		store.Now = func() time.Time { return before }
		if _, err := store.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if now := rows(); now != was {
			t.Errorf("Sweep deleted %d seeded rows", was-now)
		}
		if ended, err := store.EndExpired(ctx); err != nil || ended != 0 {
			t.Errorf("EndExpired ended %d sessions (%v), want none", ended, err)
		}
	})

	t.Run("latch reads it", func(t *testing.T) {
		// At the time the seeding began, no batch's short-lived state has
		// aged yet, however long the seeding took. Account 7 is advanced.
		for _, i := range []int{0, 7, n - 1} {
			if i < n {
				checkAccount(t, ctx, db, before, i)
			}
		}
		if n > 34 {
			checkAgentsAndDevices(t, ctx, db, before)
		}
	})
}

// checkAgentsAndDevices reads the agents of accounts 4 (acting), 24
// (stopped) and 34 (lapsed), and the command-line session of account 13
// (its device authorization redeemed), the way latch does.
func checkAgentsAndDevices(t *testing.T, ctx context.Context, db *pgxpool.Pool, now time.Time) {
	t.Helper()
	accounts := &authn.Accounts{DB: db}
	store := sessions.New(db, sessions.DefaultPolicy())
	store.Now = func() time.Time { return now }
	st := &idp.Storage{DB: db, Sessions: store, Now: store.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, i := range []int{4, 24, 34} {
		acct, err := accounts.ByEmail(ctx, Email(i))
		if err != nil {
			t.Fatal(err)
		}
		agents, err := store.Agents(ctx, acct.ID)
		if err != nil {
			t.Fatal(err)
		}
		if i != 4 {
			if len(agents) != 0 {
				t.Errorf("account %d: %d agents acting, want none", i, len(agents))
			}
			continue
		}
		if len(agents) != 1 || agents[0].AgentID != agentClient || agents[0].StartedBy != agentStarter ||
			agents[0].DeviceID != DeviceID(i, 0) || agents[0].DeviceName == "" || !agents[0].ExpiresAt.After(now) {
			t.Fatalf("account %d: agents %+v", i, agents)
		}
		// Its current refresh token works; the one it rotated out does not.
		if _, err := st.TokenRequestByRefreshToken(ctx, fmt.Sprintf("seed-agent-refresh-%d-1", i)); err != nil {
			t.Errorf("account %d: the agent's refresh token: %v", i, err)
		}
		if _, err := st.TokenRequestByRefreshToken(ctx, fmt.Sprintf("seed-agent-refresh-%d-0", i)); err == nil {
			t.Errorf("account %d: the agent's rotated refresh token works", i)
		}
		// The agent is not one of the device's apps.
		devices, _, err := store.Devices(ctx, acct.ID, "", 0, -1)
		if err != nil || len(devices) != 2 || len(devices[0].Apps) != 2 || len(devices[1].Apps) != 2 {
			t.Errorf("account %d: devices %+v (%v)", i, devices, err)
		}
	}

	acct, err := accounts.ByEmail(ctx, Email(13))
	if err != nil {
		t.Fatal(err)
	}
	devices, _, err := store.Devices(ctx, acct.ID, "", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	var cli []sessions.DeviceRecord
	for _, d := range devices {
		if d.SessionKind == sessions.KindCLI {
			cli = append(cli, d)
		}
	}
	if len(devices) != 3 || len(cli) != 1 || !strings.HasPrefix(cli[0].Name, deviceAppName) || cli[0].ApprovedOn == "" ||
		len(cli[0].Apps) != 1 || cli[0].Apps[0].ClientID != deviceClient {
		t.Fatalf("account 13: devices %+v", devices)
	}
	if _, err := st.TokenRequestByRefreshToken(ctx, "seed-cli-refresh-13"); err != nil {
		t.Errorf("account 13: the command-line session's refresh token: %v", err)
	}
}

// checkAccount reads seeded account i the way latch does.
func checkAccount(t *testing.T, ctx context.Context, db *pgxpool.Pool, now time.Time, i int) {
	t.Helper()
	accounts := &authn.Accounts{DB: db}
	acct, err := accounts.ByEmail(ctx, Email(i))
	if err != nil {
		t.Fatalf("account %d: %v", i, err)
	}
	if acct.Advanced() != Advanced(i) || acct.HasPassword == Advanced(i) {
		t.Errorf("account %d: mode %s, password %v", i, acct.SecurityMode, acct.HasPassword)
	}
	if !Advanced(i) {
		hash, err := accounts.PasswordHash(ctx, acct.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := authn.NewHasher(authn.DefaultArgon2, 1, time.Minute).Verify(t.Context(), hash, Password()); err != nil || !ok {
			t.Errorf("account %d: password does not verify (%v)", i, err)
		}
	}

	pk := &authn.Passkeys{DB: db}
	list, err := pk.List(ctx, acct.ID)
	if err != nil {
		t.Fatalf("account %d: passkeys: %v", i, err)
	}
	wantPasskeys := 0
	switch {
	case Advanced(i):
		wantPasskeys = 2
	case i%5 < 2:
		wantPasskeys = 1
	}
	if len(list) != wantPasskeys {
		t.Errorf("account %d: %d passkeys, want %d", i, len(list), wantPasskeys)
	}
	for _, p := range list {
		if !bytes.Equal(p.Credential.ID, p.ID) || len(p.Credential.PublicKey) != 77 || authn.AuthenticatorName(p.AAGUID) == "" {
			t.Errorf("account %d: passkey %q: credential id %x, public key %d bytes, aaguid %s",
				i, p.Name, p.Credential.ID, len(p.Credential.PublicKey), p.AAGUID)
		}
	}

	store := sessions.New(db, sessions.DefaultPolicy())
	store.Now = func() time.Time { return now }
	devices, _, err := store.Devices(ctx, acct.ID, "", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	if len(devices) != 2 {
		t.Fatalf("account %d: %d live devices, want 2", i, len(devices))
	}
	for _, d := range devices {
		if len(d.Apps) != 2 || d.Name == "" || !d.IP.IsValid() {
			t.Errorf("account %d: device %+v", i, d)
		}
	}
	ended, err := store.Ended(ctx, acct.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ended) != 1 || ended[0].Reason != sessions.ReasonSignedOut || len(ended[0].Apps) != 2 ||
		ended[0].Apps[0].Delivery != "delivered" {
		t.Errorf("account %d: ended sessions %+v", i, ended)
	}
	d, err := store.BySecret(ctx, SessionSecret(i, 1))
	if err != nil || d.AccountID != acct.ID {
		t.Errorf("account %d: session by its cookie secret: %v", i, err)
	}
	if _, err := store.BySecret(ctx, SessionSecret(i, 2)); err != sessions.ErrNotFound {
		t.Errorf("account %d: ended session by its cookie secret: %v", i, err)
	}

	st := &idp.Storage{DB: db, Sessions: store, Now: store.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for j := range 3 {
		_, err := st.TokenRequestByRefreshToken(ctx, RefreshToken(i, j, 1))
		if live := j < 2; (err == nil) != live {
			t.Errorf("account %d: refresh token of device %d app 1: %v", i, j, err)
		}
	}

	var events int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM activity WHERE account_id = $1`, acct.ID).Scan(&events); err != nil || events != 5 {
		t.Errorf("account %d: %d history lines (%v), want 5", i, events, err)
	}
}

func ExampleEmail() {
	fmt.Println(Email(42))
	// Output: seed-42@seed.example
}
