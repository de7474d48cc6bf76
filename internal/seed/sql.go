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
	var cliHints, cliUAs []string
	for _, p := range cliProfiles {
		cliHints = append(cliHints, lit(p.hint))
		cliUAs = append(cliUAs, lit(p.ua))
	}

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

	// Agents: 1 account in 10 (i % 10 = 4) started one from ChatGPT on
	// device 0. By i % 40: 4 and 14 are acting (renewed in the last 50
	// minutes, so their tokens live for the refresh allowance after
	// that), 24 were stopped by the person before their tokens ran out,
	// 34 lapsed (their tokens all expired, so they are no longer listed).
	// Those that are not acting were last renewed more than 62 minutes
	// ago, so their tokens have expired and been swept.
	fn("has_agent(i bigint)", "boolean", "i % 10 = 4")
	fn("agent_acting(i bigint)", "boolean", "i % 40 IN (4, 14)")
	fn("agent_stopped(i bigint)", "boolean", "i % 40 = 24")
	fn("agent_id(i bigint)", "uuid", "md5('seed-agent-' || i)::uuid")
	fn("agent_fam(i bigint)", "uuid", "md5('seed-agent-family-' || i)::uuid")
	// The scopes of an app session's tokens: ChatGPT on device 0 of an
	// account with an agent signed in with the agent's scopes too, which
	// its token was exchanged for.
	fn("app_scopes(i bigint, j int, k int)", "text[]",
		"CASE WHEN pg_temp.has_agent(i) AND j = 0 AND k = 0 "+
			"THEN '{openid,profile,email,offline_access,files:read,pull_requests:write}'::text[] "+
			"ELSE '{openid,profile,email,offline_access}'::text[] END")
	fn("agent_scopes(i bigint)", "text[]",
		"CASE WHEN pg_temp.pick(i, 40, 3) = 1 THEN '{files:read}'::text[] ELSE '{files:read,pull_requests:write}'::text[] END")
	fn("agent_note(i bigint)", "text",
		"CASE WHEN pg_temp.pick(i, 41, 2) = 1 THEN '' ELSE 'cloud task ' || substr(md5('seed-note-' || i), 1, 6) END")
	fn("agent_renewed(now timestamptz, i bigint)", "timestamptz",
		"CASE WHEN pg_temp.agent_acting(i) THEN now - interval '50 minutes' * pg_temp.r(i, 42) "+
			"ELSE pg_temp.app_created(now, i, 0, 0) + greatest(now - interval '62 minutes' - pg_temp.app_created(now, i, 0, 0), "+
			"interval '0') * pg_temp.r(i, 42) END")
	fn("agent_started(now timestamptz, i bigint)", "timestamptz",
		"pg_temp.app_created(now, i, 0, 0) + (pg_temp.agent_renewed(now, i) - pg_temp.app_created(now, i, 0, 0)) * pg_temp.r(i, 43)")
	fn("agent_expires(now timestamptz, i bigint)", "timestamptz",
		"pg_temp.agent_renewed(now, i) + interval '"+agentRefreshFor+"'")
	fn("agent_ended(now timestamptz, i bigint)", "timestamptz",
		"CASE WHEN pg_temp.agent_stopped(i) THEN pg_temp.agent_renewed(now, i) + interval '"+agentRefreshFor+"' * pg_temp.r(i, 44) END")
	// Its last act (exchange, refresh or introspection), which is also its
	// last refresh: the current tokens were issued then.
	fn("agent_last(now timestamptz, i bigint)", "timestamptz",
		"pg_temp.agent_renewed(now, i) + (coalesce(pg_temp.agent_ended(now, i), least(now, pg_temp.agent_expires(now, i))) "+
			"- pg_temp.agent_renewed(now, i)) * pg_temp.r(i, 45)")

	// Device authorizations of Codex CLI (RFC 8628): 1 account in 20 (i %
	// 20 = 13, never an advanced one) asked for one in the last 70 minutes
	// (the sweep deletes them an hour after they expire). By (i / 20) % 20:
	// 0 to 8 redeemed (approved, the tokens collected), 9 to 12 pending,
	// 13 to 16 expired unapproved, 17 and 18 denied, 19 approved in the
	// last seconds and not collected yet. An approval signed in a CLI
	// device session with its app session, approved from device 0.
	fn("has_dauth(i bigint)", "boolean", "i % 20 = 13")
	fn("dauth_state(i bigint)", "text",
		"CASE WHEN (i / 20) % 20 < 9 THEN 'redeemed' WHEN (i / 20) % 20 < 13 THEN 'pending' "+
			"WHEN (i / 20) % 20 < 17 THEN 'expired' WHEN (i / 20) % 20 < 19 THEN 'denied' ELSE 'approved' END")
	fn("with_cli(i bigint)", "boolean", "i % 20 = 13 AND ((i / 20) % 20 < 9 OR (i / 20) % 20 = 19)")
	fn("dauth_id(i bigint)", "uuid", "md5('seed-device-auth-' || i)::uuid")
	fn("cli_dev_id(i bigint)", "uuid", "md5('seed-cli-device-' || i)::uuid")
	fn("cli_app_id(i bigint)", "uuid", "md5('seed-cli-app-' || i)::uuid")
	fn("cli_profile(i bigint)", "int", fmt.Sprintf("pg_temp.pick(i, 46, %d)", len(cliProfiles)))
	fn("cli_hint(p int)", "text", "(ARRAY["+strings.Join(cliHints, ",")+"])[p]")
	fn("cli_ua(p int)", "text", "(ARRAY["+strings.Join(cliUAs, ",")+"])[p]")
	fn("cli_name(p int)", "text", "(ARRAY["+strings.Join(lits(cliNames()), ",")+"])[p]")
	fn("dauth_ip(i bigint)", "inet",
		"CASE WHEN pg_temp.pick(i, 47, 5) = 1 "+
			"THEN '2a02:c7c:5000::'::inet + (hashint8extended(i, 48) & 4294967295) "+
			"ELSE '1.0.0.0'::inet + ((hashint8extended(i, 48) & 4294967295) % 3707764736) END")
	fn("dauth_place(i bigint)", "text", fmt.Sprintf("(ARRAY[%s])[pg_temp.pick(i, 49, %d)]",
		strings.Join(lits(places), ","), len(places)))
	fn("dauth_created(now timestamptz, i bigint)", "timestamptz",
		"CASE pg_temp.dauth_state(i) WHEN 'pending' THEN now - interval '9 minutes' * pg_temp.r(i, 50) "+
			"WHEN 'expired' THEN now - interval '11 minutes' - interval '58 minutes' * pg_temp.r(i, 50) "+
			"WHEN 'approved' THEN now - interval '30 seconds' - interval '3 minutes' * pg_temp.r(i, 50) "+
			"ELSE now - interval '2 minutes' - interval '60 minutes' * pg_temp.r(i, 50) END")
	fn("dauth_decided(now timestamptz, i bigint)", "timestamptz",
		"CASE pg_temp.dauth_state(i) WHEN 'approved' THEN now - interval '4 seconds' * pg_temp.r(i, 51) "+
			"WHEN 'redeemed' THEN pg_temp.dauth_created(now, i) + interval '15 seconds' + interval '90 seconds' * pg_temp.r(i, 51) "+
			"WHEN 'denied' THEN pg_temp.dauth_created(now, i) + interval '15 seconds' + interval '90 seconds' * pg_temp.r(i, 51) END")
	fn("dauth_redeemed(now timestamptz, i bigint)", "timestamptz",
		"CASE WHEN pg_temp.dauth_state(i) = 'redeemed' THEN pg_temp.dauth_decided(now, i) + interval '5 seconds' * pg_temp.r(i, 52) END")
	// The device's last poll: a pending one polls on, an expired one gave
	// up some time before its code expired.
	fn("dauth_polled(now timestamptz, i bigint)", "timestamptz",
		"CASE pg_temp.dauth_state(i) "+
			"WHEN 'pending' THEN pg_temp.dauth_created(now, i) + (now - pg_temp.dauth_created(now, i)) * pg_temp.r(i, 53) "+
			"WHEN 'expired' THEN pg_temp.dauth_created(now, i) + interval '10 minutes' * pg_temp.r(i, 53) "+
			"WHEN 'redeemed' THEN pg_temp.dauth_redeemed(now, i) "+
			"WHEN 'denied' THEN pg_temp.dauth_decided(now, i) + interval '5 seconds' * pg_temp.r(i, 53) "+
			"ELSE greatest(pg_temp.dauth_created(now, i), pg_temp.dauth_decided(now, i) - interval '5 seconds' * pg_temp.r(i, 53)) END")
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

	// Half the consents (i % 40 = 11) were widened since: the app asked
	// for offline access later, and the person allowed it.
	{"consents", `
INSERT INTO consents (account_id, client_id, scopes, granted_at, first_granted_at, widened_at)
SELECT pg_temp.acct_id(i), '` + consentClient + `',
	CASE WHEN c.widened IS NULL THEN '{openid,profile,email}' ELSE '{openid,profile,email,offline_access}' END::text[],
	coalesce(c.widened, c.first), c.first, c.widened
FROM ` + accounts + `,
	LATERAL (SELECT pg_temp.dev_created($1::timestamptz, i, 0) AS first,
		CASE WHEN i % 40 = 11 THEN pg_temp.dev_created($1::timestamptz, i, 0)
			+ ($1::timestamptz - pg_temp.dev_created($1::timestamptz, i, 0)) * pg_temp.r(i, 28) END AS widened OFFSET 0) c
WHERE pg_temp.consented(i)`},

	// The three browser sessions, then the command-line sessions that
	// approved device authorizations signed in: named by the app and the
	// device, approved from device 0, at the address the device polled
	// from.
	{"device_sessions", `
INSERT INTO device_sessions (id, account_id, kind, secret_hash, created_at, auth_time, amr, signin_amr, acr, last_active_at,
	idle_timeout, absolute_expires_at, ip, user_agent, ended_at, end_reason, device_name, device_kind, place, trusted_device_id,
	approved_by_session, approved_on)
SELECT pg_temp.dev_id(i, j), pg_temp.acct_id(i), 'browser', sha256(('seed-session-' || i || '-' || j)::bytea),
	d.created, d.created, pg_temp.dev_amr(i, j), NULL, pg_temp.dev_acr(i, j), pg_temp.dev_last_active($1::timestamptz, i, j),
	pg_temp.dev_idle(i), d.created + pg_temp.dev_life(i), pg_temp.ip(i, j), pg_temp.ua(d.p),
	pg_temp.dev_ended($1::timestamptz, i, j), CASE WHEN j = 2 THEN 'signed_out' END,
	pg_temp.ua_name(d.p), pg_temp.ua_kind(d.p), pg_temp.place(i, j),
	CASE WHEN j = 0 AND pg_temp.trusted(i) THEN pg_temp.trusted_id(i) END, NULL, ''
FROM ` + accounts + `, generate_series(0, 2) AS j,
	LATERAL (SELECT pg_temp.dev_created($1::timestamptz, i, j) AS created, pg_temp.dev_profile(i, j) AS p OFFSET 0) d
UNION ALL
SELECT pg_temp.cli_dev_id(i), pg_temp.acct_id(i), 'cli', sha256(('seed-cli-session-' || i)::bytea),
	c.decided, c.decided, pg_temp.dev_amr(i, 0), pg_temp.dev_amr(i, 0), pg_temp.dev_acr(i, 0),
	coalesce(pg_temp.dauth_redeemed($1::timestamptz, i), c.decided),
	pg_temp.dev_idle(i), c.decided + pg_temp.dev_life(i), pg_temp.dauth_ip(i), pg_temp.cli_ua(c.p),
	NULL, NULL, pg_temp.cli_name(c.p), 'app', pg_temp.dauth_place(i), NULL,
	pg_temp.dev_id(i, 0), pg_temp.ua_name(pg_temp.dev_profile(i, 0))
FROM ` + accounts + `,
	LATERAL (SELECT pg_temp.dauth_decided($1::timestamptz, i) AS decided, pg_temp.cli_profile(i) AS p OFFSET 0) c
WHERE pg_temp.with_cli(i)`},

	// Per device session ChatGPT and Codex; then the agents' app sessions
	// (ChatGPT's device 0; a stopped agent's ended alone) and the
	// command-line sessions' Codex CLI.
	{"app_sessions", `
INSERT INTO app_sessions (id, device_session_id, account_id, client_id, created_at, last_active_at, ended_at, end_reason)
SELECT pg_temp.app_id(i, j, k), pg_temp.dev_id(i, j), pg_temp.acct_id(i), pg_temp.client(k),
	pg_temp.app_created($1::timestamptz, i, j, k), pg_temp.app_last_active($1::timestamptz, i, j, k),
	pg_temp.dev_ended($1::timestamptz, i, j), CASE WHEN j = 2 THEN 'signed_out' END
FROM ` + accounts + `, generate_series(0, 2) AS j, generate_series(0, 1) AS k
UNION ALL
SELECT pg_temp.agent_id(i), pg_temp.dev_id(i, 0), pg_temp.acct_id(i), '` + agentClient + `',
	pg_temp.agent_started($1::timestamptz, i), pg_temp.agent_last($1::timestamptz, i),
	pg_temp.agent_ended($1::timestamptz, i), CASE WHEN pg_temp.agent_stopped(i) THEN 'stopped' END
FROM ` + accounts + `
WHERE pg_temp.has_agent(i)
UNION ALL
SELECT pg_temp.cli_app_id(i), pg_temp.cli_dev_id(i), pg_temp.acct_id(i), '` + deviceClient + `',
	pg_temp.dauth_decided($1::timestamptz, i), coalesce(pg_temp.dauth_redeemed($1::timestamptz, i), pg_temp.dauth_decided($1::timestamptz, i)),
	NULL, NULL
FROM ` + accounts + `
WHERE pg_temp.with_cli(i)`},

	// What only an agent session has.
	{"agent_sessions", `
INSERT INTO agent_sessions (app_session_id, account_id, device_session_id, agent_id, started_by, scopes, note,
	started_at, renewed_at, expires_at)
SELECT pg_temp.agent_id(i), pg_temp.acct_id(i), pg_temp.dev_id(i, 0), '` + agentClient + `', '` + agentStarter + `',
	pg_temp.agent_scopes(i), pg_temp.agent_note(i), pg_temp.agent_started($1::timestamptz, i),
	pg_temp.agent_renewed($1::timestamptz, i), pg_temp.agent_expires($1::timestamptz, i)
FROM ` + accounts + `
WHERE pg_temp.has_agent(i)`},

	{"device_authorizations", `
INSERT INTO device_authorizations (id, client_id, device_code_hash, user_code_hash, scopes, device_name, ip, user_agent,
	created_at, expires_at, interval_seconds, last_polled_at, status, decided_at, account_id, device_session_id,
	app_session_id, redeemed_at)
SELECT pg_temp.dauth_id(i), '` + deviceClient + `', sha256(('seed-device-code-' || i)::bytea),
	sha256(('seed-user-code-' || i)::bytea), '{openid,profile,email,offline_access}', pg_temp.cli_hint(c.p),
	pg_temp.dauth_ip(i), pg_temp.cli_ua(c.p), c.created, c.created + interval '10 minutes',
	CASE WHEN pg_temp.pick(i, 54, 10) = 1 THEN 10 ELSE 5 END, pg_temp.dauth_polled($1::timestamptz, i),
	CASE WHEN c.s = 'expired' THEN 'pending' ELSE c.s END, pg_temp.dauth_decided($1::timestamptz, i),
	CASE WHEN c.s NOT IN ('pending', 'expired') THEN pg_temp.acct_id(i) END,
	CASE WHEN pg_temp.with_cli(i) THEN pg_temp.cli_dev_id(i) END, CASE WHEN pg_temp.with_cli(i) THEN pg_temp.cli_app_id(i) END,
	pg_temp.dauth_redeemed($1::timestamptz, i)
FROM ` + accounts + `,
	LATERAL (SELECT pg_temp.dauth_state(i) AS s, pg_temp.cli_profile(i) AS p, pg_temp.dauth_created($1::timestamptz, i) AS created
		OFFSET 0) c
WHERE pg_temp.has_dauth(i)`},

	// Per app session the token it was first given (m = 0, rotated) and
	// the one that replaced it (m = 1), which RefreshToken names.
	{"refresh_tokens", `
INSERT INTO refresh_tokens (id, token_hash, app_session_id, family_id, account_id, client_id, scopes, audience,
	amr, acr, auth_time, created_at, expires_at, rotated_at)
SELECT md5(t.tok)::uuid, sha256(t.tok::bytea), pg_temp.app_id(i, j, k), pg_temp.fam_id(i, j, k), pg_temp.acct_id(i),
	pg_temp.client(k), pg_temp.app_scopes(i, j, k), ARRAY[pg_temp.client(k)],
	pg_temp.dev_amr(i, j), pg_temp.dev_acr(i, j), t.dev_created,
	CASE WHEN m = 0 THEN pg_temp.app_created($1::timestamptz, i, j, k) ELSE t.last_active END,
	t.dev_created + pg_temp.dev_life(i),
	CASE WHEN m = 0 THEN t.last_active END
FROM ` + accounts + `, generate_series(0, 2) AS j, generate_series(0, 1) AS k, generate_series(0, 1) AS m,
	LATERAL (SELECT 'seed-refresh-' || i || '-' || j || '-' || k || '-' || m AS tok,
		pg_temp.dev_created($1::timestamptz, i, j) AS dev_created, pg_temp.app_last_active($1::timestamptz, i, j, k) AS last_active OFFSET 0) t
UNION ALL
SELECT md5(t.tok)::uuid, sha256(t.tok::bytea), pg_temp.agent_id(i), pg_temp.agent_fam(i), pg_temp.acct_id(i),
	'` + agentClient + `', pg_temp.agent_scopes(i), ARRAY['` + agentClient + `'], pg_temp.dev_amr(i, 0), pg_temp.dev_acr(i, 0),
	pg_temp.dev_created($1::timestamptz, i, 0),
	CASE WHEN m = 0 THEN pg_temp.agent_renewed($1::timestamptz, i) ELSE t.last END,
	pg_temp.agent_expires($1::timestamptz, i), CASE WHEN m = 0 THEN t.last END
FROM ` + accounts + `, generate_series(0, 1) AS m,
	LATERAL (SELECT 'seed-agent-refresh-' || i || '-' || m AS tok, pg_temp.agent_last($1::timestamptz, i) AS last OFFSET 0) t
WHERE pg_temp.agent_acting(i)
UNION ALL
SELECT md5('seed-cli-refresh-' || i)::uuid, sha256(('seed-cli-refresh-' || i)::bytea), pg_temp.cli_app_id(i), pg_temp.dauth_id(i),
	pg_temp.acct_id(i), '` + deviceClient + `', '{openid,profile,email,offline_access}', ARRAY['` + deviceClient + `'],
	pg_temp.dev_amr(i, 0), pg_temp.dev_acr(i, 0), c.decided, pg_temp.dauth_redeemed($1::timestamptz, i),
	c.decided + pg_temp.dev_life(i), NULL
FROM ` + accounts + `,
	LATERAL (SELECT pg_temp.dauth_decided($1::timestamptz, i) AS decided OFFSET 0) c
WHERE pg_temp.has_dauth(i) AND pg_temp.dauth_state(i) = 'redeemed'`},

	// Live app sessions only: one token that expired within the last hour
	// (the janitor deletes them an hour after expiry) and the current one.
	// An ended session's tokens expired long ago and are gone.
	{"access_tokens", `
INSERT INTO access_tokens (id, app_session_id, family_id, account_id, client_id, scopes, created_at, expires_at)
SELECT md5('seed-access-' || i || '-' || j || '-' || k || '-' || n)::uuid, pg_temp.app_id(i, j, k), pg_temp.fam_id(i, j, k),
	pg_temp.acct_id(i), pg_temp.client(k), pg_temp.app_scopes(i, j, k), t.created, t.created + interval '5 minutes'
FROM ` + accounts + `, generate_series(0, 1) AS j, generate_series(0, 1) AS k, generate_series(0, 1) AS n,
	LATERAL (SELECT CASE WHEN n = 0
		THEN $1::timestamptz - interval '65 minutes' + interval '10 minutes' * pg_temp.r(((i * 3 + j) * 2 + k) * 2 + n, 24)
		ELSE pg_temp.app_last_active($1::timestamptz, i, j, k) END AS created OFFSET 0) t
UNION ALL
SELECT md5('seed-agent-access-' || i)::uuid, pg_temp.agent_id(i), pg_temp.agent_fam(i), pg_temp.acct_id(i), '` + agentClient + `',
	pg_temp.agent_scopes(i), t.last, t.last + interval '5 minutes'
FROM ` + accounts + `,
	LATERAL (SELECT pg_temp.agent_last($1::timestamptz, i) AS last OFFSET 0) t
WHERE pg_temp.agent_acting(i)
UNION ALL
SELECT md5('seed-cli-access-' || i)::uuid, pg_temp.cli_app_id(i), pg_temp.dauth_id(i), pg_temp.acct_id(i), '` + deviceClient + `',
	'{openid,profile,email,offline_access}', t.redeemed, t.redeemed + interval '5 minutes'
FROM ` + accounts + `,
	LATERAL (SELECT pg_temp.dauth_redeemed($1::timestamptz, i) AS redeemed OFFSET 0) t
WHERE pg_temp.has_dauth(i) AND pg_temp.dauth_state(i) = 'redeemed'`},

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
	jsonb_build_object('scopes', to_jsonb(pg_temp.app_scopes(i, 0, 0)),
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
FROM ` + accounts + `
UNION ALL
SELECT pg_temp.acct_id(i), pg_temp.agent_started($1::timestamptz, i), 'agent_started', pg_temp.dev_id(i, 0), NULL, '',
	jsonb_build_object('agent', '` + agentName + `', 'client_id', '` + agentClient + `', 'started_by', '` + agentStarterName + `',
		'scopes', to_jsonb(pg_temp.agent_scopes(i)))
	|| CASE WHEN pg_temp.agent_note(i) = '' THEN '{}'::jsonb ELSE jsonb_build_object('note', pg_temp.agent_note(i)) END
FROM ` + accounts + `
WHERE pg_temp.has_agent(i)
UNION ALL
SELECT pg_temp.acct_id(i), pg_temp.agent_ended($1::timestamptz, i), 'agent_ended', pg_temp.dev_id(i, 0), NULL, '',
	'{"reason": "stopped", "client_id": "` + agentClient + `"}'
FROM ` + accounts + `
WHERE pg_temp.agent_stopped(i)
UNION ALL
SELECT pg_temp.acct_id(i), pg_temp.dauth_decided($1::timestamptz, i),
	CASE WHEN pg_temp.dauth_state(i) = 'denied' THEN 'device_denied' ELSE 'device_approved' END,
	pg_temp.dev_id(i, 0), pg_temp.ip(i, 0), pg_temp.ua(pg_temp.dev_profile(i, 0)),
	jsonb_build_object('client_id', '` + deviceClient + `', 'name', pg_temp.cli_name(pg_temp.cli_profile(i)),
		'from', coalesce(nullif(pg_temp.dauth_place(i), ''), 'Unknown location'))
	|| CASE WHEN pg_temp.with_cli(i) THEN jsonb_build_object('session', pg_temp.cli_dev_id(i)::text, 'kind', 'cli') ELSE '{}'::jsonb END
FROM ` + accounts + `
WHERE pg_temp.has_dauth(i) AND pg_temp.dauth_state(i) IN ('redeemed', 'approved', 'denied')`},
}
