package sessions

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/latch-idp/latch/internal/pg"
)

// NamedSession is how a device session is named to its owner: the name
// latch worked out at sign-in, the name the person gave it, and its place.
type NamedSession struct {
	ID         string
	Name       string // "Firefox on Linux"; "" when unknown
	CustomName string // "Work laptop"; "" when the person gave none
	Kind       string
	Place      string
	SignedInAt time.Time
	EndedAt    *time.Time // nil while it is live
	EndReason  EndReason
}

// MaxCustomNameRunes is the longest name a person may give a device.
const MaxCustomNameRunes = 64

// ErrCustomName refuses a device name that is too long or not text.
var ErrCustomName = errors.New("sessions: a device name is at most 64 characters of text")

// CleanCustomName is the name a person typed for a device, as it is
// stored: invalid UTF-8 and names longer than MaxCustomNameRunes are
// refused; control and format characters (among them the ones that
// reorder text, U+202E, and the invisible ones) are dropped; runs of
// spaces become one space, and spaces at either end go. "" means no name:
// the device shows as latch named it.
func CleanCustomName(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", ErrCustomName
	}
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r), unicode.Is(unicode.Co, r),
			unicode.Is(unicode.Cs, r), r == utf8.RuneError, !unicode.IsGraphic(r):
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	name := b.String()
	if utf8.RuneCountInString(name) > MaxCustomNameRunes {
		return "", ErrCustomName
	}
	return name, nil
}

// Rename gives the account's live device session id the name the person
// chose (CleanCustomName of name; "" takes the name away), and records it
// as done from session by, in one transaction. It returns the stored name.
// A name that does not change records nothing.
func (s *Store) Rename(ctx context.Context, accountID, by, id, name string) (string, error) {
	name, err := CleanCustomName(name)
	if err != nil {
		return "", err
	}
	if !IsID(accountID) || !IsID(id) {
		return "", ErrNotYours
	}
	err = s.Transact(ctx, func(t *Tx) error {
		var old string
		err := t.QueryRow(ctx, `SELECT custom_name FROM device_sessions
			WHERE id = $1 AND account_id = $2 AND ended_at IS NULL FOR UPDATE`, id, accountID).Scan(&old)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotYours
		}
		if err != nil {
			return fmt.Errorf("sessions: rename: %w", err)
		}
		if old == name {
			return nil
		}
		if _, err := t.Exec(ctx, `UPDATE device_sessions SET custom_name = $2 WHERE id = $1`, id, name); err != nil {
			return fmt.Errorf("sessions: rename: %w", err)
		}
		var byArg string
		if IsID(by) {
			byArg = by
		}
		return Record(ctx, t, Event{AccountID: accountID, At: s.Now(), Kind: EventDeviceRenamed, DeviceSessionID: byArg,
			Detail: map[string]any{"session": id, "name": name, "from": old}})
	})
	return name, err
}

// Named returns how the account's device sessions ids (live or ended) are
// named, by id; ids of other accounts' sessions, and ids that are none,
// are left out.
func (s *Store) Named(ctx context.Context, accountID string, ids []string) (map[string]NamedSession, error) {
	return s.NamedTx(ctx, s.DB, accountID, ids)
}

// NamedTx is Named inside a caller's transaction q.
func (s *Store) NamedTx(ctx context.Context, q pg.Querier, accountID string, ids []string) (map[string]NamedSession, error) {
	var valid []string
	for _, id := range ids {
		if IsID(id) {
			valid = append(valid, id)
		}
	}
	out := map[string]NamedSession{}
	if len(valid) == 0 || !IsID(accountID) {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT id::text, device_name, custom_name, device_kind, place, created_at, ended_at,
		coalesce(end_reason, '') FROM device_sessions WHERE id = ANY($1) AND account_id = $2`, valid, accountID)
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (NamedSession, error) {
		var n NamedSession
		return n, r.Scan(&n.ID, &n.Name, &n.CustomName, &n.Kind, &n.Place, &n.SignedInAt, &n.EndedAt, &n.EndReason)
	})
	if err != nil {
		return nil, err
	}
	for _, n := range list {
		out[n.ID] = n
	}
	return out, nil
}
