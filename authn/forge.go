package authn

import (
	"context"
	"fmt"
	"time"
)

// The methods in this file make a state that, in life, only a ceremony in
// a browser makes, so that end-to-end tests can start from it. latch
// itself never calls them.

// Suspend suspends one of an account's passkeys at at, as an assertion
// whose counter went backwards does (see refuse), without the assertion,
// the activity record or the alert. ErrPasskeyNotFound when the account
// has no such passkey.
func (p *Passkeys) Suspend(ctx context.Context, accountID string, id []byte, at time.Time) error {
	tag, err := p.DB.Exec(ctx, `UPDATE passkeys SET suspended_at = $3 WHERE id = $1 AND account_id = $2`, id, accountID, at.UTC())
	if err != nil {
		return fmt.Errorf("authn: suspend passkey: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrPasskeyNotFound
	}
	return nil
}
