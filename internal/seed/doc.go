// Package seed fills a migrated, empty latch database with realistic data
// at any size, so that benchmarks can show latch's queries stay index
// look-ups at 100,000 to 10 million accounts:
//
//	err := seed.Seed(ctx, pool, seed.Size{Accounts: 1_000_000}, nil)
//
// Everything is written by set-based INSERT ... SELECT statements over
// generate_series, one per table per batch of 50,000 accounts, each
// committed on its own, on connections with synchronous_commit off. Every
// index and foreign key stays in place, as in production, so every row is
// checked as latch's own inserts are. Every seeded table is analyzed at the
// end.
//
// # What an account has
//
// Account i (counting from 0) is seed-<i>@seed.example (Email). Ids are
// md5 of a name and the row's numbers (md5('seed-device-<i>-<j>')::uuid),
// so they are random-looking, as gen_random_uuid's are, and children are
// written without joining to their parents; the secrets behind stored
// hashes are named likewise (SessionSecret, RefreshToken). Within a batch,
// rows are generated device by device across all its accounts, so one
// account's rows are spread over the heap as they are in a running latch,
// where they are written at different times.
//
// Per account, with the share of accounts that have it:
//
//   - accounts: a name, created 30 days to 3 years ago, a WebAuthn user
//     handle. 2% (i % 50 == 7, Advanced) have advanced security, turned
//     on at some point in the second half of the account's life.
//   - passwords: the standard accounts (98%), all with one argon2id hash of
//     Password() made with authn.DefaultArgon2, so they can sign in.
//     Advanced accounts have none: turning advanced security on deletes it.
//   - passkeys: 40% of standard accounts (i % 5 < 2) have one, from iCloud
//     Keychain, Google Password Manager, 1Password, a YubiKey or Windows
//     Hello, with the credential record go-webauthn keeps (id, COSE public
//     key, flags, AAGUID, attestation). Advanced accounts have two: a
//     synced one and a YubiKey.
//   - recovery_keys: advanced accounts have a set of 10, the set they
//     confirmed (accounts.recovery_confirmed_set).
//   - device_sessions: 3 in a browser. Two are live, signed in between an hour and 20
//     days ago and active in the last day (14-day idle and 30-day absolute
//     limits); one ended (signed_out) in the last 30 days. Advanced
//     accounts' sessions follow the advanced limits instead: signed in 1 to
//     10 hours ago, active in the last 10 minutes, 15 minutes idle, 12
//     hours in all. Browser, device name and kind (worked out by latch's
//     DescribeUserAgent from a real User-Agent), place and IPv4 or IPv6
//     address vary. Advanced accounts signed in with a passkey everywhere,
//     other accounts with a passkey on device 0 (amr swk or hwk, user, mfa;
//     acr phr) and with their password otherwise (amr pwd). Accounts whose
//     device authorization was approved (see below) have a fourth, of
//     kind cli: Codex CLI, named as the /device page names it ("Codex CLI
//     on build-box · Linux"), approved from device 0, signed in when it
//     was approved, at the address the device asked from.
//   - app_sessions: 2 per browser session, chatgpt-web and codex-web; those
//     of the ended device session ended with it. An agent's app session
//     (codex-task-runner, on device 0; a stopped one ended on its own,
//     end_reason stopped) and a cli session's codex-cli.
//   - agent_sessions: 10% (i % 10 == 4, never advanced accounts) started
//     the agent codex-task-runner from ChatGPT on device 0 (token
//     exchange), with files:read or files:read and pull_requests:write,
//     half with a note. By i % 40: 4 and 14 are acting, renewed in the
//     last 50 minutes, their tokens living an hour (refresh_for) after
//     that; 24 were stopped by the person; 34 lapsed, their tokens all
//     expired. The ChatGPT tokens of device 0 of these accounts, and the
//     authorization request they came from, hold the agent's scopes too.
//   - device_authorizations: 5% (i % 20 == 13, never advanced accounts)
//     asked for a Codex CLI sign-in (RFC 8628) in the last 70 minutes (the
//     janitor deletes them an hour after their 10 minutes), from one of a
//     few machines (device_name, User-Agent), polling every 5 seconds or,
//     once slowed down, 10. By (i / 20) % 20: 0 to 8 redeemed (approved
//     and the tokens collected), 9 to 12 pending, 13 to 16 expired
//     without a decision, 17 and 18 denied, 19 approved in the last
//     seconds and not collected yet. Their device and user codes are
//     stored as the SHA-256 of seed-device-code-<i> and seed-user-code-<i>.
//   - refresh_tokens: 2 per browser app session, in one family: the first,
//     rotated, and its replacement, which expires with the device session.
//     An acting agent has 2 likewise (the one its last exchange gave and
//     the one its last refresh gave), expiring with its allowance; a
//     redeemed device authorization's session 1, whose family is the
//     authorization's id, as latch makes it.
//   - access_tokens: 2 per live browser app session: one minted in the
//     last four minutes (it expires five minutes after) and one that
//     expired within the last hour. An ended app session's tokens expired
//     long ago and the janitor has removed them. An acting agent has the
//     one its last refresh gave, a redeemed device authorization's session
//     the one the device collected.
//   - logout_jobs: 1 per ended app session, delivered.
//   - auth_requests: 1, the account's latest authorization request for
//     chatgpt-web, its code exchanged: its id is the token family of the
//     first app session of device session 0. 5% (i % 20 == 3) were made in
//     the last few minutes and have not expired; the rest expired within
//     the last hour (the janitor deletes them an hour after).
//   - activity: 5 lines: the three sign-ins (signin, or new_device for the
//     session that has ended), its session_ended, and advanced_on,
//     passkey_added or signin_failed. Then agent_started for an agent,
//     agent_ended for a stopped one, and device_approved or device_denied
//     for a decided device authorization, as latch records them.
//   - known_devices: 1. trusted_devices: 20% (i % 5 == 3, never advanced
//     accounts), the browser of live device session 0.
//   - signin_failures: 1% (i % 100 == 42) have 1 to 4 recent failures.
//   - consents: 5% (i % 20 == 11) allowed partner-notes, an app that is
//     not one of latch's own, when they signed in on device 0; half of
//     them (i % 40 == 11) allowed it offline access later (widened_at).
//
// That is about 41.7 rows per account. The size, about 16 kB of database
// (tables and indexes) per account, was measured before agents and device
// authorizations were seeded, which add under 2% of the rows. Nothing is seeded for totp_secrets (a sealed secret needs the
// master key), webauthn_challenges, pending_changes, outbox or
// signing_keys.
//
// # Time
//
// Times are relative to the moment each batch begins. The data is what a
// running latch would hold then, with nothing its janitor (idp.Storage.Sweep,
// sessions.Store.EndExpired) would remove; from then on it ages like real
// data: after five minutes the unexpired access tokens have expired, after
// a few more the advanced accounts' sessions have reached their idle limit.
// A benchmark that needs them live should start soon after seeding, or
// touch them.
//
// # Speed
//
// Seeding is bounded by the b-tree inserts into the indexes (four on
// refresh_tokens alone) and the foreign-key checks: a profile of the
// refresh_tokens statement puts 45% of the server's time in index inserts
// and 26% in foreign-key checks. Measured on a quiet 2-core machine, on
// the cluster internal/pgtest starts (PostgreSQL 15 with its default
// settings, as latch's managed cluster runs it: shared_buffers 128 MB,
// max_wal_size 1 GB):
//
//	 accounts       rows   seconds   database
//	   10,000    408,800         7    163 MiB
//	  100,000  4,088,000        53    1.5 GiB
//	1,000,000 40,880,000      1076     15 GiB
//
// The cost per account grows with size as the indexes outgrow the buffer
// cache and checkpoints come every few seconds; with shared_buffers 4 GB
// and max_wal_size 16 GB the million took 944 seconds even with other
// work on the machine. 10 million accounts need about 160 GB of disk.
// Run the test with LATCH_SEED_ACCOUNTS to measure another size.
package seed
