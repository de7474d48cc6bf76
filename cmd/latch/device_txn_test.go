package main

import (
	"context"
	"testing"
)

// TestDropDeviceApproval: approving a device signs it in with its session,
// app session, the spent code, an activity record and the owner's alert in
// one transaction that a hang-up cannot split.
func TestDropDeviceApproval(t *testing.T) {
	t.Parallel()
	l := startTracedLatch(t)
	b := l.browser()
	b.signInPassword(l.email, testPassword).Body.Close()
	dropEveryStep(t, "INSERT INTO device_sessions", func(ctx context.Context) outcome {
		l.clearThrottle(t)
		da := l.deviceApp("codex-cli").start("")
		form := hiddenFields(page(t, b.do("GET", "/device?user_code="+da.UserCode, nil)))
		form.Set("decision", "approve")
		sessions := `SELECT count(*) FROM device_sessions WHERE kind = 'cli'`
		records := `SELECT count(*) FROM activity WHERE kind = 'device_approved'`
		alerts := `SELECT count(*) FROM outbox WHERE subject = 'Codex CLI was signed in to your account'`
		s0, r0, a0 := l.count(sessions), l.count(records), l.count(alerts)
		b.serveForm(ctx, "/device/decide", form)
		return outcome{
			"session":  l.count(sessions) == s0+1,
			"approved": l.count(`SELECT count(*) FROM device_authorizations WHERE device_code_hash = $1 AND status = 'approved'`, sha256Bytes(da.DeviceCode)) == 1,
			"app":      l.count(`SELECT count(*) FROM app_sessions a JOIN device_authorizations d ON d.app_session_id = a.id WHERE d.device_code_hash = $1`, sha256Bytes(da.DeviceCode)) == 1,
			"activity": l.count(records) == r0+1,
			"alert":    l.count(alerts) == a0+1,
		}
	})
}
