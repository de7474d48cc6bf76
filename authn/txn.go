package authn

import (
	"context"
	"net/http"

	"github.com/jackc/pgx/v5"

	"latch/internal/pg"
	"latch/sessions"
)

// One change, one transaction. Every change a person makes (a sign-in, a
// passkey added, a password changed, a recovery key spent) commits in one
// transaction with its activity record, its alert and the sessions it
// ends, or not at all. The handler decides the change with the request's
// context, then continues with context.WithoutCancel(r.Context()): a client
// that hangs up once the change is decided does not cancel half of it.
//
// Handlers begin the transaction with transact; the stores' helpers take
// it (a pgx.Tx where their statements must share one, a pg.Querier
// where one statement does) and never use the pool meanwhile, so a change
// holds one connection however many statements it has.

// txn is the transaction of one change.
type txn struct {
	pgx.Tx
	// forget are device sessions the change ended or altered, which this
	// replica drops from its caches once the transaction is over (every
	// replica hears of them by notification at commit).
	forget []string
}

var _ pg.Querier = (*txn)(nil)

// transact runs fn in one transaction and commits it when fn returns nil.
// ctx must be detached from the request once the change is decided.
func (h *Handler) transact(ctx context.Context, fn func(t *txn) error) error {
	t := &txn{}
	err := pgx.BeginFunc(ctx, h.Sessions.DB, func(tx pgx.Tx) error {
		t.Tx = tx
		return fn(t)
	})
	// Dropping a cache entry is harmless when the transaction rolled back.
	h.Sessions.Forget(t.forget...)
	return err
}

// endOthers ends every live device session of the account but keep, inside
// t, and returns how many ended.
func (h *Handler) endOthers(ctx context.Context, t *txn, accountID, keep, reason string) (int, error) {
	ids, err := h.Sessions.EndAllTx(ctx, t, accountID, keep, reason)
	t.forget = append(t.forget, ids...)
	return len(ids), err
}

// recordTx writes an activity event of this request inside t.
func (h *Handler) recordTx(ctx context.Context, t *txn, r *http.Request, accountID, kind, deviceSessionID string, detail map[string]any) error {
	return sessions.Record(ctx, t, sessions.Event{AccountID: accountID, At: h.Now(), Kind: kind, DeviceSessionID: deviceSessionID,
		IP: h.ClientIP.Addr(r), UserAgent: r.UserAgent(), Detail: detail})
}
