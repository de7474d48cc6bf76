package recovery

import (
	"context"
	"crypto/sha256"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latch-idp/latch/internal/pgtest"
	"github.com/latch-idp/latch/internal/testclock"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func newKeys(t *testing.T) (*Keys, *testclock.Clock) {
	t.Helper()
	clock := testclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	k := NewKeys(pgtest.New(t))
	k.Now = clock.Now
	return k, clock
}

func account(t *testing.T, db *pgxpool.Pool, email string) string {
	t.Helper()
	var id string
	err := db.QueryRow(t.Context(), `INSERT INTO accounts (email, email_key) VALUES ($1, $1) RETURNING id`,
		email).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

var keyFormat = regexp.MustCompile(`^[A-Z2-7]{4}(-[A-Z2-7]{4}){5}$`)

func TestGenerate(t *testing.T) {
	k, _ := newKeys(t)
	ctx := t.Context()
	id := account(t, k.DB, "ada@example.com")
	keys, err := k.Generate(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != SetSize || SetSize != 10 {
		t.Fatalf("%d keys, want 10", len(keys))
	}
	seen := map[string]bool{}
	for _, key := range keys {
		if !keyFormat.MatchString(key) {
			t.Fatalf("key %q is not six dash-joined groups of four base32 characters", key)
		}
		raw, err := b32.DecodeString(strings.ReplaceAll(key, "-", ""))
		if err != nil {
			t.Fatal(err)
		}
		if bits := len(raw) * 8; bits < 112 {
			t.Fatalf("key %q carries %d bits, want at least 112", key, bits)
		}
		if seen[key] {
			t.Fatalf("key %q appears twice", key)
		}
		seen[key] = true
	}

	// Only hashes are stored: no form of any key appears in any column.
	rows, err := k.DB.Query(ctx, `SELECT r::text, key_hash FROM recovery_keys r WHERE account_id = $1`, id)
	if err != nil {
		t.Fatal(err)
	}
	hashes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var text string
		var hash []byte
		if err := r.Scan(&text, &hash); err != nil {
			return "", err
		}
		for _, key := range keys {
			plain := strings.ReplaceAll(key, "-", "")
			for _, form := range []string{key, plain, strings.ToLower(plain), plain[:8]} {
				if strings.Contains(text, form) {
					t.Errorf("row %s contains key text %q", text, form)
				}
			}
		}
		return string(hash), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(hashes) != SetSize {
		t.Fatalf("%d rows stored, want %d", len(hashes), SetSize)
	}
	stored := map[string]bool{}
	for _, h := range hashes {
		stored[h] = true
	}
	for _, key := range keys {
		h := sha256.Sum256([]byte(strings.ReplaceAll(key, "-", "")))
		if !stored[string(h[:])] {
			t.Fatalf("no SHA-256 of %q stored", key)
		}
	}
}

func TestUseOnce(t *testing.T) {
	k, _ := newKeys(t)
	ctx := t.Context()
	id := account(t, k.DB, "ada@example.com")
	keys, err := k.Generate(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Use(ctx, k.DB, id, keys[0]); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if err := k.Use(ctx, k.DB, id, keys[0]); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("second use: %v, want ErrInvalidKey", err)
	}
	if err := k.Use(ctx, k.DB, id, keys[1]); err != nil {
		t.Fatalf("another key of the set: %v", err)
	}
}

func TestUseNormalizes(t *testing.T) {
	k, _ := newKeys(t)
	ctx := t.Context()
	id := account(t, k.DB, "ada@example.com")
	keys, err := k.Generate(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	misread := strings.NewReplacer("O", "0", "I", "1", "B", "8")
	for i, tc := range []struct {
		name  string
		typed func(string) string
	}{
		{"lower case", strings.ToLower},
		{"no dashes", func(k string) string { return strings.ReplaceAll(k, "-", "") }},
		{"spaces for dashes", func(k string) string { return strings.ReplaceAll(k, "-", " ") }},
		{"spaces around", func(k string) string { return "  " + k + "\t\n" }},
		{"mixed case, spaces inside groups", func(k string) string {
			return strings.ToLower(k[:2]) + " " + k[2:7] + " - " + strings.ToLower(k[7:])
		}},
		{"digits for O, I and B", misread.Replace},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := k.Use(ctx, k.DB, id, tc.typed(keys[i])); err != nil {
				t.Fatalf("Use(%q) for %q: %v", tc.typed(keys[i]), keys[i], err)
			}
			if err := k.Use(ctx, k.DB, id, keys[i]); !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("the key was not burned: %v", err)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"as shown", "ABCD-EFGH-IJKL-MNOP-QRST-UVWX", "ABCDEFGHIJKLMNOPQRSTUVWX"},
		{"lower case", "abcd-efgh-ijkl-mnop-qrst-uvwx", "ABCDEFGHIJKLMNOPQRSTUVWX"},
		{"spaces", " abcd efgh ijkl  mnop qrst uvwx ", "ABCDEFGHIJKLMNOPQRSTUVWX"},
		{"misread digits", "A8CD-EFGH-1JKL-MN0P-QRST-UVWX", "ABCDEFGHIJKLMNOPQRSTUVWX"},
		{"base32 digits kept", "2345-67AB-CDEF-GHIJ-KLMN-OPQR", "234567ABCDEFGHIJKLMNOPQR"},
		{"too short", "ABCD-EFGH-IJKL-MNOP-QRST-UVW", ""},
		{"too long", "ABCD-EFGH-IJKL-MNOP-QRST-UVWXY", ""},
		{"empty", "", ""},
		{"9 is not base32", "9BCD-EFGH-IJKL-MNOP-QRST-UVWX", ""},
		{"padding", "ABCD-EFGH-IJKL-MNOP-QRST-UVW=", ""},
		{"non-ASCII letter", "ÄBCD-EFGH-IJKL-MNOP-QRST-UVWX", ""},
		{"other punctuation", "ABCD.EFGH.IJKL.MNOP.QRST.UVWX", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := normalize(tc.in)
			if ok != (tc.want != "") || got != tc.want {
				t.Fatalf("normalize(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
			}
		})
	}
}

func TestUseRefuses(t *testing.T) {
	k, _ := newKeys(t)
	ctx := t.Context()
	ada := account(t, k.DB, "ada@example.com")
	bob := account(t, k.DB, "bob@example.com")
	adaKeys, err := k.Generate(ctx, ada)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Generate(ctx, bob); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, account, key string
	}{
		{"another account's key", bob, adaKeys[0]},
		{"unknown key", ada, "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA"},
		{"malformed key", ada, "not a key"},
		{"truncated key", ada, adaKeys[0][:20]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := k.Use(ctx, k.DB, tc.account, tc.key); !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("got %v, want ErrInvalidKey", err)
			}
		})
	}
	// Bob's attempt did not burn Ada's key.
	if err := k.Use(ctx, k.DB, ada, adaKeys[0]); err != nil {
		t.Fatalf("Ada's key after Bob tried it: %v", err)
	}
}

func TestNewSetVoidsOldAndStatus(t *testing.T) {
	k, clock := newKeys(t)
	ctx := t.Context()
	id := account(t, k.DB, "ada@example.com")

	if s, err := k.Status(ctx, id); err != nil || s != (Status{}) {
		t.Fatalf("Status without a set = %+v, %v; want zero", s, err)
	}
	first := clock.Now()
	old, err := k.Generate(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Hour)
	for _, key := range old[:3] {
		if err := k.Use(ctx, k.DB, id, key); err != nil {
			t.Fatal(err)
		}
	}
	s, err := k.Status(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !s.HasSet || s.Total != 10 || s.Remaining != 7 || !s.CreatedAt.Equal(first) {
		t.Fatalf("Status after 3 uses = %+v; want a set of 10, 7 remaining, made %v", s, first)
	}

	clock.Add(24 * time.Hour)
	second := clock.Now()
	fresh, err := k.Generate(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range old {
		if err := k.Use(ctx, k.DB, id, key); !errors.Is(err, ErrInvalidKey) {
			t.Fatalf("key of the old set after a new one: %v, want ErrInvalidKey", err)
		}
	}
	s, err = k.Status(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !s.HasSet || s.Total != 10 || s.Remaining != 10 || !s.CreatedAt.Equal(second) {
		t.Fatalf("Status after a new set = %+v; want a set of 10, 10 remaining, made %v", s, second)
	}
	if err := k.Use(ctx, k.DB, id, fresh[0]); err != nil {
		t.Fatalf("key of the new set: %v", err)
	}

	// A set whose keys are all used is still a set, with none remaining.
	for _, key := range fresh[1:] {
		if err := k.Use(ctx, k.DB, id, key); err != nil {
			t.Fatal(err)
		}
	}
	if s, err := k.Status(ctx, id); err != nil || !s.HasSet || s.Total != 10 || s.Remaining != 0 {
		t.Fatalf("Status with every key used = %+v, %v", s, err)
	}
}

func TestUseInCallersTransaction(t *testing.T) {
	k, _ := newKeys(t)
	ctx := t.Context()
	id := account(t, k.DB, "ada@example.com")
	keys, err := k.Generate(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// Whatever the key unlocked failed, so the transaction rolls back and
	// the key is not spent.
	tx, err := k.DB.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Use(ctx, tx, id, keys[0]); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	err = pgx.BeginFunc(ctx, k.DB, func(tx pgx.Tx) error { return k.Use(ctx, tx, id, keys[0]) })
	if err != nil {
		t.Fatalf("key after a rolled-back use: %v", err)
	}
	if err := k.Use(ctx, k.DB, id, keys[0]); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("key after a committed use: %v, want ErrInvalidKey", err)
	}
}

func TestConcurrentUseOfOneKey(t *testing.T) {
	k, _ := newKeys(t)
	id := account(t, k.DB, "ada@example.com")
	keys, err := k.Generate(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = k.Use(context.Background(), k.DB, id, keys[0])
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ErrInvalidKey):
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d simultaneous uses of one key succeeded, want exactly 1", won, n)
	}
}

func TestConcurrentGenerateLeavesOneSet(t *testing.T) {
	k, _ := newKeys(t)
	id := account(t, k.DB, "ada@example.com")
	const n = 8
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := k.Generate(context.Background(), id); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var sets, total int
	err := k.DB.QueryRow(t.Context(), `SELECT count(DISTINCT set_id), count(*) FROM recovery_keys WHERE account_id = $1`,
		id).Scan(&sets, &total)
	if err != nil {
		t.Fatal(err)
	}
	if sets != 1 || total != SetSize {
		t.Fatalf("%d sets with %d keys after concurrent Generates, want 1 set of %d", sets, total, SetSize)
	}
}
