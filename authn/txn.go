package authn

import (
	"context"
	"net/http"

	"github.com/latch-idp/latch/sessions"
)

// One change, one transaction (sessions.Transact): a sign-in commits with
// its session, its activity record and its alert, or not at all.

// endOthers ends every live device session of the account but keep, inside
// t, and returns how many ended.
func (h *Handler) endOthers(ctx context.Context, t *sessions.Tx, accountID, keep string, reason sessions.EndReason) (int, error) {
	ids, err := h.Sessions.EndAllTx(ctx, t, accountID, keep, reason)
	t.Forget(ids...)
	return len(ids), err
}

// recordTx writes an activity event of this request inside t.
func (h *Handler) recordTx(ctx context.Context, t *sessions.Tx, r *http.Request, accountID string, kind sessions.EventKind, deviceSessionID string, detail map[string]any) error {
	return sessions.Record(ctx, t, sessions.Event{AccountID: accountID, At: h.Now(), Kind: kind, DeviceSessionID: deviceSessionID,
		IP: h.ClientIP.Addr(r), UserAgent: r.UserAgent(), Detail: detail})
}
