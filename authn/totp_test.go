package authn

import (
	"bytes"
	"context"
	"encoding/base32"
	"errors"
	"image/png"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pquerna/otp/totp"

	"github.com/latch-idp/latch/internal/pgtest"
	"github.com/latch-idp/latch/internal/seal"
	"github.com/latch-idp/latch/internal/testclock"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// totpFixture is a TOTP on a fresh database with a hand-moved clock, set
// 10 seconds into a 30-second step so that moving by whole steps never
// lands on a boundary.
type totpFixture struct {
	pool   *pgxpool.Pool
	master *seal.MasterKey
	clock  *testclock.Clock
	totp   *TOTP
}

func newTOTPFixture(t *testing.T) *totpFixture {
	t.Helper()
	pool := pgtest.New(t)
	master, err := seal.ParseMasterKey(seal.NewMasterKeyText())
	if err != nil {
		t.Fatal(err)
	}
	clock := testclock.New(time.Date(2026, 3, 1, 12, 0, 10, 0, time.UTC))
	tp := NewTOTP(pool, master)
	tp.Now = clock.Now
	return &totpFixture{pool: pool, master: master, clock: clock, totp: tp}
}

// account inserts an account and returns its id.
func (f *totpFixture) account(t *testing.T, email string) string {
	t.Helper()
	var id string
	err := f.pool.QueryRow(t.Context(), `INSERT INTO accounts (email, email_key) VALUES ($1, $1) RETURNING id`,
		email).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// code is what an authenticator app holding secret shows at the clock's
// time moved by steps 30-second steps. It uses pquerna/otp's defaults, which
// are those of the apps, independently of the options latch sets.
func (f *totpFixture) code(t *testing.T, secret string, steps int) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, f.clock.Now().Add(time.Duration(steps)*30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wrongCode returns a well-formed code that no step in the window accepts.
func (f *totpFixture) wrongCode(t *testing.T, secret string) string {
	t.Helper()
	window := map[string]bool{}
	for steps := -1; steps <= 1; steps++ {
		window[f.code(t, secret, steps)] = true
	}
	for _, c := range []string{"000000", "123456", "999999", "314159"} {
		if !window[c] {
			return c
		}
	}
	t.Fatal("no wrong code found")
	return ""
}

// enrolled returns an account with a confirmed authenticator app and its
// secret; the confirmation used the current step.
func (f *totpFixture) enrolled(t *testing.T, email string) (string, string) {
	t.Helper()
	id := f.account(t, email)
	e, err := f.totp.Begin(t.Context(), id, email)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.totp.Confirm(t.Context(), id, f.code(t, e.Secret, 0)); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	return id, e.Secret
}

func (f *totpFixture) lastUsedStep(t *testing.T, id string) int64 {
	t.Helper()
	var s int64
	if err := f.pool.QueryRow(t.Context(), `SELECT last_used_step FROM totp_secrets WHERE account_id = $1`, id).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTOTPEnrollAndVerify(t *testing.T) {
	f := newTOTPFixture(t)
	ctx := t.Context()
	id := f.account(t, "ada@example.com")

	e, err := f.totp.Begin(ctx, id, "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret)
	if err != nil || len(raw) != 20 {
		t.Fatalf("secret %q: %d bytes, %v; want 20 bytes of base32", e.Secret, len(raw), err)
	}
	u, err := url.Parse(e.URL)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" {
		t.Fatalf("URL %q is not an otpauth://totp URL", e.URL)
	}
	q := u.Query()
	if q.Get("secret") != e.Secret || q.Get("issuer") != "latch" || q.Get("digits") != "6" || q.Get("period") != "30" {
		t.Fatalf("URL %q: want secret, issuer=latch, digits=6, period=30", e.URL)
	}
	if !strings.Contains(u.Path, "ada@example.com") {
		t.Fatalf("URL %q does not name the account", e.URL)
	}
	img, err := png.Decode(bytes.NewReader(e.QRPNG))
	if err != nil {
		t.Fatalf("QR code is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 200 || b.Dy() != 200 {
		t.Fatalf("QR code is %v, want 200x200", b)
	}

	// A setup in progress does not count.
	if on, err := f.totp.Enabled(ctx, id); on || err != nil {
		t.Fatalf("Enabled before Confirm = %v, %v", on, err)
	}
	if err := f.totp.Verify(ctx, id, f.code(t, e.Secret, 0)); !errors.Is(err, ErrNoTOTP) {
		t.Fatalf("Verify before Confirm: %v, want ErrNoTOTP", err)
	}

	if err := f.totp.Confirm(ctx, id, f.wrongCode(t, e.Secret)); !errors.Is(err, ErrBadCode) {
		t.Fatalf("Confirm with a wrong code: %v, want ErrBadCode", err)
	}
	confirmCode := f.code(t, e.Secret, 0)
	if err := f.totp.Confirm(ctx, id, confirmCode); err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	if on, err := f.totp.Enabled(ctx, id); !on || err != nil {
		t.Fatalf("Enabled after Confirm = %v, %v", on, err)
	}
	if err := f.totp.Confirm(ctx, id, f.code(t, e.Secret, 1)); !errors.Is(err, ErrTOTPExists) {
		t.Fatalf("second Confirm: %v, want ErrTOTPExists", err)
	}
	// The code that confirmed has used its step.
	if err := f.totp.Verify(ctx, id, confirmCode); !errors.Is(err, ErrBadCode) {
		t.Fatalf("Verify with the confirmation code: %v, want ErrBadCode", err)
	}

	f.clock.Add(30 * time.Second)
	c := f.code(t, e.Secret, 0)
	if err := f.totp.Verify(ctx, id, c); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if err := f.totp.Verify(ctx, id, c); !errors.Is(err, ErrBadCode) {
		t.Fatalf("replayed code: %v, want ErrBadCode", err)
	}
	f.clock.Add(30 * time.Second)
	// Apps show codes as "123 456"; spaces are ignored.
	c = f.code(t, e.Secret, 0)
	if err := f.totp.Verify(ctx, id, " "+c[:3]+" "+c[3:]+" "); err != nil {
		t.Fatalf("Verify in the next step: %v", err)
	}
}

func TestTOTPWindow(t *testing.T) {
	f := newTOTPFixture(t)
	for _, tc := range []struct {
		name  string
		steps int
		ok    bool
	}{
		{"two steps back", -2, false},
		{"one step back", -1, true},
		{"current step", 0, true},
		{"one step ahead", 1, true},
		{"two steps ahead", 2, false},
		{"an hour back", -120, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, secret := f.enrolled(t, strings.ReplaceAll(tc.name, " ", ".")+"@example.com")
			// Far from the confirmation, so its step is not in the way.
			f.clock.Add(10 * time.Minute)
			before := f.lastUsedStep(t, id)
			err := f.totp.Verify(t.Context(), id, f.code(t, secret, tc.steps))
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrBadCode) {
				t.Fatalf("got %v, want ErrBadCode", err)
			}
			if after := f.lastUsedStep(t, id); !tc.ok && after != before {
				t.Fatalf("a refused code moved last_used_step from %d to %d", before, after)
			}
		})
	}
}

func TestTOTPOlderStepAfterNewer(t *testing.T) {
	f := newTOTPFixture(t)
	ctx := t.Context()
	id, secret := f.enrolled(t, "ada@example.com")
	f.clock.Add(10 * time.Minute)

	if err := f.totp.Verify(ctx, id, f.code(t, secret, 1)); err != nil {
		t.Fatalf("next step's code: %v", err)
	}
	// Both are still inside the window, but a newer step has been used.
	for _, steps := range []int{0, -1} {
		if err := f.totp.Verify(ctx, id, f.code(t, secret, steps)); !errors.Is(err, ErrBadCode) {
			t.Fatalf("code of step %+d after step +1 was used: %v, want ErrBadCode", steps, err)
		}
	}
	// Once time has moved past the used step, the next one works.
	f.clock.Add(60 * time.Second)
	if err := f.totp.Verify(ctx, id, f.code(t, secret, 0)); err != nil {
		t.Fatalf("later step: %v", err)
	}
}

func TestTOTPConcurrentUseOfOneCode(t *testing.T) {
	f := newTOTPFixture(t)
	id, secret := f.enrolled(t, "ada@example.com")
	f.clock.Add(30 * time.Second)
	c := f.code(t, secret, 0)

	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f.totp.Verify(context.Background(), id, c)
		})
	}
	close(start)
	wg.Wait()
	passed := 0
	for _, err := range errs {
		switch {
		case err == nil:
			passed++
		case !errors.Is(err, ErrBadCode):
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if passed != 1 {
		t.Fatalf("%d of %d concurrent uses of one code passed, want exactly 1", passed, n)
	}
}

func TestTOTPSecretIsSealed(t *testing.T) {
	f := newTOTPFixture(t)
	ctx := t.Context()
	id, secret := f.enrolled(t, "ada@example.com")
	other, otherSecret := f.enrolled(t, "bob@example.com")
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		t.Fatal(err)
	}

	var stored []byte
	if err := f.pool.QueryRow(ctx, `SELECT secret FROM totp_secrets WHERE account_id = $1`, id).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored, raw) || bytes.Contains(stored, []byte(secret)) ||
		bytes.Contains(bytes.ToUpper(stored), []byte(secret)) {
		t.Fatal("the secret is stored in clear")
	}
	sealer := f.master.Sealer("totp")
	if got, err := sealer.Open(stored, []byte(id)); err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("opening with the account's id: %v", err)
	}
	if _, err := sealer.Open(stored, []byte(other)); err == nil {
		t.Fatal("the sealed secret opens with another account's id")
	}

	// Copied into another account's row, the secret does not verify.
	if _, err := f.pool.Exec(ctx, `UPDATE totp_secrets SET secret = $2 WHERE account_id = $1`, other, stored); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(30 * time.Second)
	if err := f.totp.Verify(ctx, other, f.code(t, secret, 0)); err == nil {
		t.Fatal("a secret moved to another account verified")
	}
	if err := f.totp.Verify(ctx, other, f.code(t, otherSecret, 0)); err == nil {
		t.Fatal("verified against a secret that does not open")
	}
}

func TestTOTPBeginRemove(t *testing.T) {
	f := newTOTPFixture(t)
	ctx := t.Context()
	id := f.account(t, "ada@example.com")

	if err := f.totp.Confirm(ctx, id, "123456"); !errors.Is(err, ErrNoTOTP) {
		t.Fatalf("Confirm without Begin: %v, want ErrNoTOTP", err)
	}
	if err := f.totp.Verify(ctx, id, "123456"); !errors.Is(err, ErrNoTOTP) {
		t.Fatalf("Verify without Begin: %v, want ErrNoTOTP", err)
	}

	// Beginning again replaces an unconfirmed secret.
	first, err := f.totp.Begin(ctx, id, "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.totp.Begin(ctx, id, "ada@example.com")
	if err != nil {
		t.Fatalf("Begin again before Confirm: %v", err)
	}
	if first.Secret == second.Secret {
		t.Fatal("Begin again kept the secret")
	}
	if c1, c2 := f.code(t, first.Secret, 0), f.code(t, second.Secret, 0); c1 != c2 {
		if err := f.totp.Confirm(ctx, id, c1); !errors.Is(err, ErrBadCode) {
			t.Fatalf("Confirm with the abandoned secret: %v, want ErrBadCode", err)
		}
	}
	if err := f.totp.Confirm(ctx, id, f.code(t, second.Secret, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.totp.Begin(ctx, id, "ada@example.com"); !errors.Is(err, ErrTOTPExists) {
		t.Fatalf("Begin with a confirmed app: %v, want ErrTOTPExists", err)
	}
	f.clock.Add(30 * time.Second)
	if err := f.totp.Verify(ctx, id, f.code(t, second.Secret, 0)); err != nil {
		t.Fatalf("Begin with a confirmed app changed the secret: %v", err)
	}

	if err := f.totp.Remove(ctx, f.totp.DB, id); err != nil {
		t.Fatal(err)
	}
	if on, err := f.totp.Enabled(ctx, id); on || err != nil {
		t.Fatalf("Enabled after Remove = %v, %v", on, err)
	}
	f.clock.Add(30 * time.Second)
	if err := f.totp.Verify(ctx, id, f.code(t, second.Secret, 0)); !errors.Is(err, ErrNoTOTP) {
		t.Fatalf("Verify after Remove: %v, want ErrNoTOTP", err)
	}
	if err := f.totp.Remove(ctx, f.totp.DB, id); err != nil {
		t.Fatalf("second Remove: %v, want nil", err)
	}
	if _, err := f.totp.Begin(ctx, id, "ada@example.com"); err != nil {
		t.Fatalf("Begin after Remove: %v", err)
	}
}

func TestTOTPMalformedCodes(t *testing.T) {
	f := newTOTPFixture(t)
	ctx := t.Context()
	id, secret := f.enrolled(t, "ada@example.com")
	f.clock.Add(30 * time.Second)
	good := f.code(t, secret, 0)
	before := f.lastUsedStep(t, id)
	for _, tc := range []struct{ name, code string }{
		{"empty", ""},
		{"five digits", "12345"},
		{"letters", "abcdef"},
		{"seven digits", "1234567"},
		{"good code with a digit more", good + "0"},
		{"good code with a dash", good[:3] + "-" + good[3:]},
		{"non-ASCII digits", "١٢٣٤٥٦"},
		{"sign", "+12345"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := f.totp.Verify(ctx, id, tc.code); !errors.Is(err, ErrBadCode) {
				t.Fatalf("Verify(%q) = %v, want ErrBadCode", tc.code, err)
			}
		})
	}
	if after := f.lastUsedStep(t, id); after != before {
		t.Fatalf("malformed codes moved last_used_step from %d to %d", before, after)
	}
	if err := f.totp.Verify(ctx, id, good); err != nil {
		t.Fatalf("the good code after malformed ones: %v", err)
	}
}
