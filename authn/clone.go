package authn

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/latch-idp/latch/internal/notify"
	"github.com/latch-idp/latch/sessions"
)

// A passkey whose signature counter goes backwards is suspended (see
// Passkeys.refuse): it signs nothing in until its owner confirms on the
// security page that it is theirs, with another method, or removes it.

// CloneRefused records a refused passkey assertion in the transaction that
// suspends the passkey: every refusal goes into the activity history, and
// the suspension itself once, with an alert to the owner. deviceSessionID
// is the session of a step-up, "" for a sign-in.
func (h *Handler) CloneRefused(r *http.Request, deviceSessionID string) CloneEvent {
	return func(ctx context.Context, tx pgx.Tx, ref CloneRefusal) error {
		event := func(kind sessions.EventKind) sessions.Event {
			reason := "suspended"
			if ref.Regressed {
				reason = "counter"
			}
			return sessions.Event{AccountID: ref.AccountID, At: h.Now(), Kind: kind, DeviceSessionID: deviceSessionID,
				IP: h.ClientIP.Addr(r), UserAgent: r.UserAgent(), Detail: map[string]any{
					"credential": base64.RawURLEncoding.EncodeToString(ref.CredentialID), "name": ref.Name,
					"counter": ref.Counter, "stored": ref.Stored, "reason": reason}}
		}
		if err := sessions.Record(ctx, tx, event(sessions.EventPasskeyCloneRefused)); err != nil {
			return err
		}
		if !ref.Suspended {
			return nil
		}
		if err := sessions.Record(ctx, tx, event(sessions.EventPasskeySuspended)); err != nil {
			return err
		}
		acct, err := h.Accounts.ByID(ctx, ref.AccountID)
		if err != nil {
			return err
		}
		err = h.alert(ctx, tx, acct, alertPasskeySuspended(h, r, ref.Name))
		if errors.Is(err, notify.ErrInvalidMessage) {
			// A message that could never be sent must not cost the
			// suspension, which matters more than the email about it.
			h.Logger.ErrorContext(ctx, "queue alert", "subject", "passkey suspended", "err", err)
			return nil
		}
		return err
	}
}
