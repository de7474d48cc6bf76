package seed

import (
	"fmt"
	"strings"
)

// The seeding statements share one model of an account, written as SQL
// functions in pg_temp (so they exist only on the seeding connections and
// vanish with them). Every value is a function of the account number i and
// the numbers of the row within the account (device j, app k, token m or
// n), never of another row, so a child row recomputes its parent's id and
// times instead of joining to it. Random-looking but deterministic values
// come from hashint8extended; ids from md5, unique hashes from sha256.
//
// The functions are SQL functions of one expression, marked STABLE (their
// bodies do timestamptz arithmetic), which PostgreSQL inlines into the
// statements: no function call happens per row.
//
// Keys: an account's device k is i*3+j, an app (i*3+j)*2+k, a token
// ((i*3+j)*2+k)*2+m; the second argument of r and pick (the salt) tells
// apart the attributes drawn from one key.

// functions returns the statements that create the model functions.
func functions() (string, error) {
	key, err := coseKey()
	if err != nil {
		return "", err
	}
	var creds []string
	for _, p := range passkeyProfiles {
		c, err := credentialJSON(p, key)
		if err != nil {
			return "", err
		}
		creds = append(creds, lit(c)+"::jsonb")
	}
	var pkNames, pkAAGUIDs, clientIDs, clientURIs, redirectURIs []string
	for _, p := range passkeyProfiles {
		pkNames = append(pkNames, lit(p.name))
		pkAAGUIDs = append(pkAAGUIDs, lit(p.aaguid)+"::uuid")
	}
	for _, c := range clients {
		clientIDs = append(clientIDs, lit(c.id))
		clientURIs = append(clientURIs, lit(c.logoutURI))
		redirectURIs = append(redirectURIs, lit(c.redirectURI))
	}
	names, kinds := deviceNames()

	var b strings.Builder
	fn := func(sig, returns, body string) {
		fmt.Fprintf(&b, "CREATE FUNCTION pg_temp.%s RETURNS %s LANGUAGE sql STABLE PARALLEL SAFE AS $f$ SELECT %s $f$;\n",
			sig, returns, body)
	}
	// Draws.
	fn("r(k bigint, salt int)", "float8", "(hashint8extended(k, salt) & 2147483647)::float8 / 2147483648")
	fn("pick(k bigint, salt int, n int)", "int", "1 + ((hashint8extended(k, salt) & 2147483647) % n)::int")
	// Which accounts have what.
	fn("adv(i bigint)", "boolean", "i % 50 = 7")
	fn("has_pk(i bigint)", "boolean", "i % 5 < 2 OR i % 50 = 7")
	fn("trusted(i bigint)", "boolean", "i % 5 = 3")
	fn("failing(i bigint)", "boolean", "i % 100 = 42")
	fn("consented(i bigint)", "boolean", "i % 20 = 11")
	// Ids.
	fn("acct_id(i bigint)", "uuid", "md5('seed-account-' || i)::uuid")
	fn("dev_id(i bigint, j int)", "uuid", "md5('seed-device-' || i || '-' || j)::uuid")
	fn("app_id(i bigint, j int, k int)", "uuid", "md5('seed-app-' || i || '-' || j || '-' || k)::uuid")
	fn("fam_id(i bigint, j int, k int)", "uuid", "md5('seed-family-' || i || '-' || j || '-' || k)::uuid")
	fn("recovery_set(i bigint)", "uuid", "md5('seed-recovery-set-' || i)::uuid")
	fn("trusted_id(i bigint)", "uuid", "md5('seed-trusted-' || i)::uuid")
	fn("email(i bigint)", "text", "'seed-' || i || '@seed.example'")
	// A 43-character base64url value, like a state, nonce or PKCE challenge.
	fn("b64(what text, i bigint)", "text",
		"rtrim(translate(encode(sha256(('seed-' || what || '-' || i)::bytea), 'base64'), '+/', '-_'), '=')")
	// Lists.
	fn("first_name(n int)", "text", "(ARRAY["+strings.Join(lits(firstNames), ",")+"])[n]")
	fn("last_name(n int)", "text", "(ARRAY["+strings.Join(lits(lastNames), ",")+"])[n]")
	fn("ua(n int)", "text", "(ARRAY["+strings.Join(lits(userAgents), ",")+"])[n]")
	fn("ua_name(n int)", "text", "(ARRAY["+strings.Join(lits(names), ",")+"])[n]")
	fn("ua_kind(n int)", "text", "(ARRAY["+strings.Join(lits(kinds), ",")+"])[n]")
	fn("place(i bigint, j int)", "text", fmt.Sprintf("(ARRAY[%s])[pg_temp.pick(i * 3 + j, 9, %d)]",
		strings.Join(lits(places), ","), len(places)))
	fn("client(k int)", "text", "(ARRAY["+strings.Join(clientIDs, ",")+"])[k + 1]")
	fn("client_logout_uri(k int)", "text", "(ARRAY["+strings.Join(clientURIs, ",")+"])[k + 1]")
	fn("client_redirect_uri(k int)", "text", "(ARRAY["+strings.Join(redirectURIs, ",")+"])[k + 1]")
	fn("pk_name(p int)", "text", "(ARRAY["+strings.Join(pkNames, ",")+"])[p]")
	fn("pk_aaguid(p int)", "uuid", "(ARRAY["+strings.Join(pkAAGUIDs, ",")+"])[p]")
	fn("pk_cred(p int)", "jsonb", "(ARRAY["+strings.Join(creds, ",")+"])[p]")
	// Accounts.
	fn("acct_created(now timestamptz, i bigint)", "timestamptz",
		"now - interval '1 day' * (30 + 1065 * pg_temp.r(i, 1))")
	fn("adv_since(now timestamptz, i bigint)", "timestamptz",
		"pg_temp.acct_created(now, i) + (now - pg_temp.acct_created(now, i)) * (0.5 + 0.45 * pg_temp.r(i, 2))")
	// Passkeys: standard accounts with one have a passkey of any profile;
	// advanced accounts have a synced one (m = 0) and a YubiKey (m = 1),
	// both added before advanced security was turned on.
	fn("pk_profile(i bigint, m int)", "int", fmt.Sprintf(
		"CASE WHEN pg_temp.adv(i) THEN CASE WHEN m = 0 THEN pg_temp.pick(i, 3, 2) ELSE %d END ELSE pg_temp.pick(i, 3, %d) END",
		yubiKeyProfile, len(passkeyProfiles)))
	fn("pk_synced(p int)", "boolean", fmt.Sprintf("p <= %d", syncedProfiles))
	fn("pk_created(now timestamptz, i bigint, m int)", "timestamptz",
		"pg_temp.acct_created(now, i) + (now - pg_temp.acct_created(now, i)) * 0.5 * pg_temp.r(i * 2 + m, 4)")
	// Device sessions: j 0 and 1 are live, 2 has ended. Every one was
	// created at least an hour ago and expires in the future, so the
	// refresh tokens of even the ended one would not have been swept.
	fn("dev_passkey(i bigint, j int)", "boolean", "pg_temp.adv(i) OR (i % 5 < 2 AND j = 0)")
	fn("dev_amr(i bigint, j int)", "text[]",
		"CASE WHEN NOT pg_temp.dev_passkey(i, j) THEN '{pwd}'::text[] "+
			"WHEN pg_temp.pk_synced(pg_temp.pk_profile(i, 0)) THEN '{swk,user,mfa}'::text[] ELSE '{hwk,user,mfa}'::text[] END")
	fn("dev_acr(i bigint, j int)", "text", "CASE WHEN pg_temp.dev_passkey(i, j) THEN 'phr' ELSE '' END")
	fn("dev_method(i bigint, j int)", "text", "CASE WHEN pg_temp.dev_passkey(i, j) THEN 'passkey' ELSE 'password' END")
	fn("dev_created(now timestamptz, i bigint, j int)", "timestamptz",
		"now - interval '1 hour' - CASE WHEN pg_temp.adv(i) THEN interval '9 hours' "+
			"WHEN j < 2 THEN interval '20 days' ELSE interval '29 days' END * pg_temp.r(i * 3 + j, 5)")
	fn("dev_ended(now timestamptz, i bigint, j int)", "timestamptz",
		"CASE WHEN j = 2 THEN pg_temp.dev_created(now, i, j) + (now - pg_temp.dev_created(now, i, j)) * pg_temp.r(i * 3 + j, 6) END")
	fn("dev_last_active(now timestamptz, i bigint, j int)", "timestamptz",
		"CASE WHEN j = 2 THEN greatest(pg_temp.dev_created(now, i, j), pg_temp.dev_ended(now, i, j) - "+
			"CASE WHEN pg_temp.adv(i) THEN interval '10 minutes' ELSE interval '2 hours' END * pg_temp.r(i * 3 + j, 7)) "+
			"WHEN pg_temp.adv(i) THEN now - interval '10 minutes' * pg_temp.r(i * 3 + j, 7) "+
			"ELSE greatest(pg_temp.dev_created(now, i, j), now - interval '1 day' * pg_temp.r(i * 3 + j, 7)) END")
	fn("dev_idle(i bigint)", "interval", "CASE WHEN pg_temp.adv(i) THEN interval '15 minutes' ELSE interval '14 days' END")
	fn("dev_life(i bigint)", "interval", "CASE WHEN pg_temp.adv(i) THEN interval '12 hours' ELSE interval '30 days' END")
	fn("dev_profile(i bigint, j int)", "int", fmt.Sprintf("pg_temp.pick(i * 3 + j, 8, %d)", len(userAgents)))
	fn("ip(i bigint, j int)", "inet",
		"CASE WHEN pg_temp.pick(i * 3 + j, 10, 5) = 1 "+
			"THEN '2a02:c7c:5000::'::inet + (hashint8extended(i * 3 + j, 11) & 4294967295) "+
			"ELSE '1.0.0.0'::inet + ((hashint8extended(i * 3 + j, 11) & 4294967295) % 3707764736) END")
	// App sessions: each client signed in right after the device session
	// began; live ones have minted a token in the last four minutes.
	fn("app_created(now timestamptz, i bigint, j int, k int)", "timestamptz",
		"pg_temp.dev_created(now, i, j) + interval '1 second' * (3 + 40 * k + 20 * pg_temp.r((i * 3 + j) * 2 + k, 12))")
	fn("app_last_active(now timestamptz, i bigint, j int, k int)", "timestamptz",
		"CASE WHEN j = 2 THEN greatest(pg_temp.app_created(now, i, j, k), pg_temp.dev_last_active(now, i, j)) "+
			"ELSE now - interval '4 minutes' * pg_temp.r((i * 3 + j) * 2 + k, 13) END")
	return b.String(), nil
}

// lit quotes s as an SQL string literal (standard_conforming_strings is on,
// PostgreSQL's default since 9.1).
func lit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func lits(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = lit(s)
	}
	return out
}

// accounts is the series of a batch's account numbers: $2 to $3. $1 is the
// time the seeding began, which every time is relative to.
const accounts = "generate_series($2::bigint, $3::bigint) AS i"

// table is one seeding statement.
type table struct {
	name string
	sql  string
}

// tables are the statements of a batch, parents before children.
var tables = []table{
	{"accounts", `
INSERT INTO accounts (id, email, email_key, name, security_mode, created_at, webauthn_id, advanced_since, recovery_confirmed_set)
SELECT pg_temp.acct_id(i), pg_temp.email(i), pg_temp.email(i),
	pg_temp.first_name(pg_temp.pick(i, 20, ` + fmt.Sprint(len(firstNames)) + `)) || ' ' ||
		pg_temp.last_name(pg_temp.pick(i, 21, ` + fmt.Sprint(len(lastNames)) + `)),
	CASE WHEN pg_temp.adv(i) THEN 'advanced' ELSE 'standard' END,
	pg_temp.acct_created($1::timestamptz, i),
	sha256(('seed-webauthn-' || i)::bytea),
	CASE WHEN pg_temp.adv(i) THEN pg_temp.adv_since($1::timestamptz, i) END,
	CASE WHEN pg_temp.adv(i) THEN pg_temp.recovery_set(i) END
FROM ` + accounts},

	{"passwords", `
INSERT INTO passwords (account_id, hash, updated_at)
SELECT pg_temp.acct_id(i), $4, pg_temp.acct_created($1::timestamptz, i)
FROM ` + accounts + `
WHERE NOT pg_temp.adv(i)`},

	{"passkeys", `
INSERT INTO passkeys (id, account_id, name, credential, aaguid, backup_eligible, backup_state, sign_count, created_at, last_used_at)
SELECT pk.id, pg_temp.acct_id(i), pg_temp.pk_name(pk.p),
	pg_temp.pk_cred(pk.p) || jsonb_build_object('id', encode(pk.id, 'base64')),
	pg_temp.pk_aaguid(pk.p), pg_temp.pk_synced(pk.p), pg_temp.pk_synced(pk.p), 0,
	pg_temp.pk_created($1::timestamptz, i, m),
	CASE WHEN m = 0 THEN pg_temp.dev_created($1::timestamptz, i, 0) END
FROM ` + accounts + `, generate_series(0, 1) AS m,
	LATERAL (SELECT sha256(('seed-passkey-' || i || '-' || m)::bytea) AS id, pg_temp.pk_profile(i, m) AS p OFFSET 0) pk
WHERE (m = 0 AND pg_temp.has_pk(i)) OR (m = 1 AND pg_temp.adv(i))`},

	{"recovery_keys", `
INSERT INTO recovery_keys (id, account_id, set_id, key_hash, created_at)
SELECT md5('seed-recovery-' || i || '-' || n)::uuid, pg_temp.acct_id(i), pg_temp.recovery_set(i),
	sha256(('seed-recovery-' || i || '-' || n)::bytea), pg_temp.adv_since($1::timestamptz, i) - interval '10 minutes'
FROM ` + accounts + `, generate_series(0, 9) AS n
WHERE pg_temp.adv(i)`},

	{"trusted_devices", `
INSERT INTO trusted_devices (id, account_id, secret_hash, created_at, expires_at)
SELECT pg_temp.trusted_id(i), pg_temp.acct_id(i), sha256(('seed-trusted-' || i)::bytea),
	pg_temp.dev_created($1::timestamptz, i, 0), pg_temp.dev_created($1::timestamptz, i, 0) + interval '30 days'
FROM ` + accounts + `
WHERE pg_temp.trusted(i)`},

	{"known_devices", `
INSERT INTO known_devices (account_id, device_hash, first_seen)
SELECT pg_temp.acct_id(i), sha256(('seed-browser-' || i)::bytea), pg_temp.acct_created($1::timestamptz, i)
FROM ` + accounts},

	{"signin_failures", `
INSERT INTO signin_failures (email_key, failures, last_failed_at)
SELECT pg_temp.email(i), pg_temp.pick(i, 22, 4), $1::timestamptz - interval '12 hours' * pg_temp.r(i, 23)
FROM ` + accounts + `
WHERE pg_temp.failing(i)`},

	{"consents", `
INSERT INTO consents (account_id, client_id, scopes, granted_at)
SELECT pg_temp.acct_id(i), '` + consentClient + `', '{openid,profile,email}', pg_temp.dev_created($1::timestamptz, i, 0)
FROM ` + accounts + `
WHERE pg_temp.consented(i)`},

	{"device_sessions", `
INSERT INTO device_sessions (id, account_id, kind, secret_hash, created_at, auth_time, amr, acr, last_active_at,
	idle_timeout, absolute_expires_at, ip, user_agent, ended_at, end_reason, device_name, device_kind, place, trusted_device_id)
SELECT pg_temp.dev_id(i, j), pg_temp.acct_id(i), 'browser', sha256(('seed-session-' || i || '-' || j)::bytea),
	d.created, d.created, pg_temp.dev_amr(i, j), pg_temp.dev_acr(i, j), pg_temp.dev_last_active($1::timestamptz, i, j),
	pg_temp.dev_idle(i), d.created + pg_temp.dev_life(i), pg_temp.ip(i, j), pg_temp.ua(d.p),
	pg_temp.dev_ended($1::timestamptz, i, j), CASE WHEN j = 2 THEN 'signed_out' END,
	pg_temp.ua_name(d.p), pg_temp.ua_kind(d.p), pg_temp.place(i, j),
	CASE WHEN j = 0 AND pg_temp.trusted(i) THEN pg_temp.trusted_id(i) END
FROM ` + accounts + `, generate_series(0, 2) AS j,
	LATERAL (SELECT pg_temp.dev_created($1::timestamptz, i, j) AS created, pg_temp.dev_profile(i, j) AS p OFFSET 0) d`},

	{"app_sessions", `
INSERT INTO app_sessions (id, device_session_id, account_id, client_id, created_at, last_active_at, ended_at, end_reason)
SELECT pg_temp.app_id(i, j, k), pg_temp.dev_id(i, j), pg_temp.acct_id(i), pg_temp.client(k),
	pg_temp.app_created($1::timestamptz, i, j, k), pg_temp.app_last_active($1::timestamptz, i, j, k),
	pg_temp.dev_ended($1::timestamptz, i, j), CASE WHEN j = 2 THEN 'signed_out' END
FROM ` + accounts + `, generate_series(0, 2) AS j, generate_series(0, 1) AS k`},

	// Per app session the token it was first given (m = 0, rotated) and
	// the one that replaced it (m = 1), which RefreshToken names.
	{"refresh_tokens", `
INSERT INTO refresh_tokens (id, token_hash, app_session_id, family_id, account_id, client_id, scopes, audience,
	amr, acr, auth_time, created_at, expires_at, rotated_at)
SELECT md5(t.tok)::uuid, sha256(t.tok::bytea), pg_temp.app_id(i, j, k), pg_temp.fam_id(i, j, k), pg_temp.acct_id(i),
	pg_temp.client(k), '{openid,profile,email,offline_access}', ARRAY[pg_temp.client(k)],
	pg_temp.dev_amr(i, j), pg_temp.dev_acr(i, j), t.dev_created,
	CASE WHEN m = 0 THEN pg_temp.app_created($1::timestamptz, i, j, k) ELSE t.last_active END,
	t.dev_created + pg_temp.dev_life(i),
	CASE WHEN m = 0 THEN t.last_active END
FROM ` + accounts + `, generate_series(0, 2) AS j, generate_series(0, 1) AS k, generate_series(0, 1) AS m,
	LATERAL (SELECT 'seed-refresh-' || i || '-' || j || '-' || k || '-' || m AS tok,
		pg_temp.dev_created($1::timestamptz, i, j) AS dev_created, pg_temp.app_last_active($1::timestamptz, i, j, k) AS last_active OFFSET 0) t`},

	// Live app sessions only: one token that expired within the last hour
	// (the janitor deletes them an hour after expiry) and the current one.
	// An ended session's tokens expired long ago and are gone.
	{"access_tokens", `
INSERT INTO access_tokens (id, app_session_id, family_id, account_id, client_id, scopes, created_at, expires_at)
SELECT md5('seed-access-' || i || '-' || j || '-' || k || '-' || n)::uuid, pg_temp.app_id(i, j, k), pg_temp.fam_id(i, j, k),
	pg_temp.acct_id(i), pg_temp.client(k), '{openid,profile,email,offline_access}', t.created, t.created + interval '5 minutes'
FROM ` + accounts + `, generate_series(0, 1) AS j, generate_series(0, 1) AS k, generate_series(0, 1) AS n,
	LATERAL (SELECT CASE WHEN n = 0
		THEN $1::timestamptz - interval '65 minutes' + interval '10 minutes' * pg_temp.r(((i * 3 + j) * 2 + k) * 2 + n, 24)
		ELSE pg_temp.app_last_active($1::timestamptz, i, j, k) END AS created OFFSET 0) t`},

	{"logout_jobs", `
INSERT INTO logout_jobs (app_session_id, device_session_id, account_id, client_id, uri, status, attempts,
	next_attempt_at, created_at, delivered_at)
SELECT pg_temp.app_id(i, 2, k), pg_temp.dev_id(i, 2), pg_temp.acct_id(i), pg_temp.client(k), pg_temp.client_logout_uri(k),
	'delivered', 1, e.ended, e.ended, e.ended + interval '1 millisecond' * (20 + 200 * pg_temp.r(i * 2 + k, 25))
FROM ` + accounts + `, generate_series(0, 1) AS k,
	LATERAL (SELECT pg_temp.dev_ended($1::timestamptz, i, 2) AS ended OFFSET 0) e`},

	// The account's latest authorization request, its code exchanged: the
	// request whose id is the token family of its first app session.
	{"auth_requests", `
INSERT INTO auth_requests (id, client_id, params, created_at, expires_at, account_id, device_session_id,
	auth_time, amr, acr, code_hash, code_expires_at, code_used_at)
SELECT pg_temp.fam_id(i, 0, 0), pg_temp.client(0),
	jsonb_build_object('scopes', '["openid","profile","email","offline_access"]'::jsonb,
		'redirect_uri', pg_temp.client_redirect_uri(0), 'state', pg_temp.b64('state', i), 'nonce', pg_temp.b64('nonce', i),
		'response_type', 'code', 'code_challenge', pg_temp.b64('challenge', i)),
	c.at, c.at + interval '30 minutes', pg_temp.acct_id(i), pg_temp.dev_id(i, 0),
	pg_temp.dev_created($1::timestamptz, i, 0), pg_temp.dev_amr(i, 0), pg_temp.dev_acr(i, 0),
	sha256(('seed-code-' || i)::bytea), c.at + interval '80 seconds', c.at + interval '21 seconds'
FROM ` + accounts + `,
	LATERAL (SELECT CASE WHEN i % 20 = 3 THEN $1::timestamptz - interval '1 minute' - interval '3 minutes' * pg_temp.r(i, 26)
		ELSE $1::timestamptz - interval '30 minutes' - interval '30 minutes' * pg_temp.r(i, 26) END AS at OFFSET 0) c`},

	// Five lines of history: the three sign-ins, the sign-out, and one of
	// turning advanced security on, adding a passkey or a failed sign-in.
	{"activity", `
INSERT INTO activity (account_id, at, kind, device_session_id, ip, user_agent, detail)
SELECT pg_temp.acct_id(i), pg_temp.dev_created($1::timestamptz, i, j), CASE WHEN j = 2 THEN 'new_device' ELSE 'signin' END,
	pg_temp.dev_id(i, j), pg_temp.ip(i, j), pg_temp.ua(pg_temp.dev_profile(i, j)),
	jsonb_build_object('method', pg_temp.dev_method(i, j))
FROM ` + accounts + `, generate_series(0, 2) AS j
UNION ALL
SELECT pg_temp.acct_id(i), pg_temp.dev_ended($1::timestamptz, i, 2), 'session_ended', pg_temp.dev_id(i, 2), NULL, '',
	'{"reason": "signed_out"}'
FROM ` + accounts + `
UNION ALL
SELECT pg_temp.acct_id(i),
	CASE WHEN pg_temp.adv(i) THEN pg_temp.adv_since($1::timestamptz, i)
		WHEN pg_temp.has_pk(i) THEN pg_temp.pk_created($1::timestamptz, i, 0)
		ELSE $1::timestamptz - interval '30 days' * pg_temp.r(i, 27) END,
	CASE WHEN pg_temp.adv(i) THEN 'advanced_on' WHEN pg_temp.has_pk(i) THEN 'passkey_added' ELSE 'signin_failed' END,
	NULL,
	CASE WHEN NOT pg_temp.has_pk(i) THEN pg_temp.ip(i, 0) END,
	pg_temp.ua(pg_temp.dev_profile(i, 0)),
	CASE WHEN pg_temp.adv(i) THEN '{"sessions_ended": 2}'::jsonb
		WHEN pg_temp.has_pk(i) THEN jsonb_build_object('name', pg_temp.pk_name(pg_temp.pk_profile(i, 0)))
		ELSE '{"method": "password"}'::jsonb END
FROM ` + accounts},
}
