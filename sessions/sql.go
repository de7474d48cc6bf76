package sessions

// SQL that other packages put into statements of their own. idp answers a
// refresh, userinfo and introspection with one statement each (one round
// trip on its hottest paths), and each must check in that statement that
// the token's app session and device session are live. sessions alone
// names its tables (docs/tables.md); these pieces are what it publishes of
// them, and it keeps them true to its rules.

// AppSessionLivenessSQL is a FROM item for other packages' statements:
// every app session with what decides whether its tokens are good. Give it
// an alias and join on its id:
//
//	id                 the app session
//	device_session_id  its device session, the sid
//	last_active_at     the app session's last activity
//	open               neither it nor its device session has ended, and the
//	                   device session is no recovery session
//	live_until         when the device session dies unless it is used: the
//	                   earlier of its absolute and its idle end
//
// A token is good at time T while open AND T < live_until. PostgreSQL
// merges the subquery into the statement, so it costs nothing over naming
// the tables: two primary-key lookups.
const AppSessionLivenessSQL = `(SELECT a.id, a.device_session_id, a.last_active_at,
		a.ended_at IS NULL AND d.ended_at IS NULL AND d.restricted_until IS NULL AS open,
		least(d.absolute_expires_at, d.last_active_at + d.idle_timeout) AS live_until
	FROM app_sessions a JOIN device_sessions d ON d.id = a.device_session_id)`

// TouchAppSessionsSQL is a data-modifying WITH query that records, at time
// at, activity on the app sessions named by the rows of the WITH query
// from: column idColumn is the app session and lastActiveColumn its
// last_active_at as the statement read it. As Touch does for device
// sessions, it writes at most once a minute per app session.
func TouchAppSessionsSQL(from, idColumn, lastActiveColumn, at string) string {
	return `UPDATE app_sessions SET last_active_at = ` + at + ` FROM ` + from + `
			WHERE app_sessions.id = ` + from + `.` + idColumn + ` AND ` + from + `.` + lastActiveColumn + ` < ` + at + `::timestamptz - interval '1 minute'`
}
