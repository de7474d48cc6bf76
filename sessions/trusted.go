package sessions

import (
	"context"
	"time"

	"github.com/latch-idp/latch/internal/pg"
)

// DefaultTrustLifetime is how long "trust this device" skips the second
// factor (docs/design.md §Policies P3: 30 days, standard accounts only);
// Store.TrustFor overrides it.
const DefaultTrustLifetime = 30 * 24 * time.Hour

// trustFor is the store's trusted-device lifetime.
func (s *Store) trustFor() time.Duration {
	if s.TrustFor > 0 {
		return s.TrustFor
	}
	return DefaultTrustLifetime
}

// Trust remembers this browser for the account after a multi-factor
// sign-in and returns the secret for its device cookie (only its hash is
// stored) and the trusted device's id. q is the sign-in's transaction.
func (s *Store) Trust(ctx context.Context, q pg.Querier, accountID string) (secret, id string, err error) {
	secret, hash := NewSecret()
	now := s.Now().UTC()
	err = q.QueryRow(ctx, `INSERT INTO trusted_devices (account_id, secret_hash, created_at, expires_at)
		VALUES ($1, $2, $3, $4) RETURNING id`, accountID, hash, now, now.Add(s.trustFor())).Scan(&id)
	return secret, id, err
}

// Trusted returns the id of the account's trusted device whose cookie
// carries secret, if it is still trusted.
func (s *Store) Trusted(ctx context.Context, accountID, secret string) (string, bool) {
	if secret == "" {
		return "", false
	}
	var id string
	err := s.DB.QueryRow(ctx, `SELECT id FROM trusted_devices WHERE secret_hash = $1 AND account_id = $2
		AND revoked_at IS NULL AND expires_at > $3`, HashSecret(secret), accountID, s.Now().UTC()).Scan(&id)
	return id, err == nil
}

// Untrust stops trusting the device a session signed in from, inside q's
// transaction when q is one.
func (s *Store) Untrust(ctx context.Context, q pg.Querier, accountID, deviceSessionID string) error {
	if !IsID(deviceSessionID) {
		return ErrNotFound
	}
	tag, err := q.Exec(ctx, `UPDATE trusted_devices t SET revoked_at = $3
		FROM device_sessions d WHERE d.id = $2 AND d.account_id = $1 AND t.id = d.trusted_device_id
		AND t.revoked_at IS NULL`, accountID, deviceSessionID, s.Now().UTC())
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// StopTrusting stops trusting the device the account's session id signed
// in from, and records it as done from session by, in one transaction. It
// returns ErrNotFound, and changes nothing, when that device is not
// trusted.
func (s *Store) StopTrusting(ctx context.Context, accountID, by, id string) error {
	return s.Transact(ctx, func(t *Tx) error {
		if err := s.Untrust(ctx, t, accountID, id); err != nil {
			return err
		}
		return Record(ctx, t, Event{AccountID: accountID, At: s.Now(), Kind: EventDeviceUntrusted, DeviceSessionID: by,
			Detail: map[string]any{"session": id}})
	})
}

// ForgetTrustedDevices stops trusting every device of the account.
func (s *Store) ForgetTrustedDevices(ctx context.Context, q pg.Querier, accountID string) error {
	_, err := q.Exec(ctx, `UPDATE trusted_devices SET revoked_at = $2 WHERE account_id = $1 AND revoked_at IS NULL`,
		accountID, s.Now().UTC())
	return err
}

// SeenDevice records that the account signed in from the browser whose
// device cookie carries secret, and reports whether that was the first
// time. q is the sign-in's transaction, so a sign-in that does not commit
// leaves the browser new.
func (s *Store) SeenDevice(ctx context.Context, q pg.Querier, accountID, secret string) (bool, error) {
	tag, err := q.Exec(ctx, `INSERT INTO known_devices (account_id, device_hash, first_seen) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, accountID, HashSecret(secret), s.Now().UTC())
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// ProvenDevice returns the hash that names this browser for the account's
// sign-in throttle when one of its cookies shows that it signed in to the
// account before: did, the device cookie of one of the account's known
// devices, or td, the cookie of a device the account still trusts. nil
// otherwise. Both are index lookups (known_devices' primary key, the
// unique secret_hash of trusted_devices).
func (s *Store) ProvenDevice(ctx context.Context, accountID, did, td string) ([]byte, error) {
	if !IsID(accountID) || (len(did) < 32 && td == "") {
		return nil, nil
	}
	var didHash, tdHash []byte
	if len(did) >= 32 {
		didHash = HashSecret(did)
	}
	if td != "" {
		tdHash = HashSecret(td)
	}
	var known bool
	var trusted []byte
	err := s.DB.QueryRow(ctx, `SELECT
		EXISTS (SELECT 1 FROM known_devices WHERE account_id = $1 AND device_hash = $2),
		(SELECT secret_hash FROM trusted_devices WHERE secret_hash = $3 AND account_id = $1
			AND revoked_at IS NULL AND expires_at > $4)`,
		accountID, didHash, tdHash, s.Now().UTC()).Scan(&known, &trusted)
	switch {
	case err != nil:
		return nil, err
	case known:
		return didHash, nil
	default:
		return trusted, nil // nil when not trusted
	}
}

// TrustLifetime is how long a trusted device is trusted.
func (s *Store) TrustLifetime() time.Duration { return s.trustFor() }
