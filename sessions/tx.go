package sessions

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// One change, one transaction. Every change a person makes (a sign-in, a
// passkey added, a password changed, a recovery key spent, sessions
// ended) commits in one transaction with its activity record, its alert
// and the sessions it ends, or not at all. The handler decides the change
// with the request's context, then continues with
// context.WithoutCancel(r.Context()): a client that hangs up once the
// change is decided does not cancel half of it.
//
// Handlers begin the transaction with Store.Transact, and the helpers of
// every table's owner take it (a pgx.Tx where their statements must share
// one, a pg.Querier where one statement does) and never use the pool
// meanwhile, so a change holds one connection however many statements it
// has. sessions runs it because every change writes the account's history,
// and many end or alter sessions that each replica caches.

// Tx is the transaction of one change.
type Tx struct {
	pgx.Tx
	// forget are device sessions the change ended or altered, which this
	// replica drops from its caches once the transaction is over (every
	// replica hears of them by notification at commit).
	forget []string
}

// Forget names device sessions (or "app:<id>") that the change ends or
// alters: this replica drops them from its caches once the transaction is
// over.
func (t *Tx) Forget(ids ...string) { t.forget = append(t.forget, ids...) }

// Transact runs fn in one transaction and commits it when fn returns nil.
// ctx must be detached from the request once the change is decided.
func (s *Store) Transact(ctx context.Context, fn func(t *Tx) error) error {
	t := &Tx{}
	err := pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error {
		t.Tx = tx
		return fn(t)
	})
	// Dropping a cache entry is harmless when the transaction rolled back.
	s.Forget(t.forget...)
	return err
}
