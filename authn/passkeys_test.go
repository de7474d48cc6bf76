package authn

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/jackc/pgx/v5"

	"github.com/latch-idp/latch/internal/pgtest"
	"github.com/latch-idp/latch/internal/testclock"
)

// forger holds a passkey's private key, so a test can make the assertions a
// broken or cloned authenticator would.
type forger struct {
	t       *testing.T
	p       *Passkeys
	key     *ecdsa.PrivateKey
	credID  []byte
	handle  []byte
	account string
	clock   *testclock.Clock
}

func newForger(t *testing.T, backupEligible bool, signCount uint32) *forger {
	t.Helper()
	db := pgtest.New(t)
	wa, err := NewWebAuthn("http://localhost:8080")
	if err != nil {
		t.Fatal(err)
	}
	clock := testclock.New(time.Now())
	f := &forger{t: t, p: &Passkeys{DB: db, WebAuthn: wa, Now: clock.Now}, clock: clock}
	accounts := &Accounts{DB: db, Hasher: NewHasher(Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}, 1, time.Minute)}
	a, err := accounts.Create(t.Context(), "ada@example.com", "Ada", "")
	if err != nil {
		t.Fatal(err)
	}
	f.account = a.ID
	u, err := f.p.user(t.Context(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	f.handle = u.id
	f.key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.credID = make([]byte, 16)
	rand.Read(f.credID)
	point, err := f.key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		t.Fatal(err)
	}
	x, y := point[1:33], point[33:]
	cose, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         1, XCoord: x, YCoord: y,
	})
	if err != nil {
		t.Fatal(err)
	}
	cred := webauthn.Credential{ID: f.credID, PublicKey: cose, AttestationType: "none",
		Flags:         webauthn.CredentialFlags{UserPresent: true, UserVerified: true, BackupEligible: backupEligible},
		Authenticator: webauthn.Authenticator{SignCount: signCount}}
	credJSON, _ := json.Marshal(cred)
	if _, err := db.Exec(t.Context(), `INSERT INTO passkeys (id, account_id, name, credential, backup_eligible, backup_state, sign_count, created_at)
		VALUES ($1, $2, 'Forged', $3, $4, false, $5, now())`, f.credID, a.ID, credJSON, backupEligible, int64(signCount)); err != nil {
		t.Fatal(err)
	}
	return f
}

type assertionOpts struct {
	counter      uint32
	flags        byte
	origin, rpID string
	typ          string
	challenge    string
	noUserHandle bool
}

const (
	flagUP = 0x01
	flagUV = 0x04
	flagBE = 0x08
)

// assert begins a discoverable sign-in in binding and answers it as an
// authenticator holding the key would, with o's deviations.
func (f *forger) assert(binding string, o assertionOpts) []byte {
	f.t.Helper()
	if o.challenge == "" {
		a, err := f.p.BeginLogin(f.t.Context(), binding, false)
		if err != nil {
			f.t.Fatal(err)
		}
		o.challenge = a.Response.Challenge.String()
	}
	if o.origin == "" {
		o.origin = "http://localhost:8080"
	}
	if o.rpID == "" {
		o.rpID = "localhost"
	}
	if o.typ == "" {
		o.typ = "webauthn.get"
	}
	client, _ := json.Marshal(map[string]string{"type": o.typ, "challenge": o.challenge, "origin": o.origin})
	rp := sha256.Sum256([]byte(o.rpID))
	auth := append(rp[:], o.flags, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(auth[33:], o.counter)
	ch := sha256.Sum256(client)
	digest := sha256.Sum256(append(append([]byte{}, auth...), ch[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, f.key, digest[:])
	if err != nil {
		f.t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	resp := map[string]string{"clientDataJSON": b64(client), "authenticatorData": b64(auth), "signature": b64(sig)}
	if !o.noUserHandle {
		resp["userHandle"] = b64(f.handle)
	}
	body, _ := json.Marshal(map[string]any{"id": b64(f.credID), "rawId": b64(f.credID), "type": "public-key", "response": resp})
	return body
}

// TestPasskeyAssertionRules: what latch refuses of a passkey sign-in.
func TestPasskeyAssertionRules(t *testing.T) {
	good := func(counter uint32) assertionOpts { return assertionOpts{counter: counter, flags: flagUP | flagUV} }
	t.Run("valid, then counter moves forward", func(t *testing.T) {
		f := newForger(t, false, 5)
		as, err := f.p.FinishLogin(t.Context(), "b1", f.assert("b1", good(6)), nil)
		if err != nil || as.AccountID != f.account || as.Synced {
			t.Fatalf("valid assertion: %+v %v", as, err)
		}
		if amr := as.AMR(); amr[0] != "hwk" {
			t.Fatalf("amr %v", amr)
		}
		var n int64
		f.p.DB.QueryRow(t.Context(), `SELECT sign_count FROM passkeys`).Scan(&n)
		if n != 6 {
			t.Fatalf("stored counter %d", n)
		}
	})
	t.Run("replayed assertion", func(t *testing.T) {
		f := newForger(t, false, 5)
		body := f.assert("b1", good(6))
		if _, err := f.p.FinishLogin(t.Context(), "b1", body, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := f.p.FinishLogin(t.Context(), "b1", body, nil); !errors.Is(err, ErrNoChallenge) {
			t.Fatalf("replay: %v", err)
		}
	})
	t.Run("concurrent replay", func(t *testing.T) {
		f := newForger(t, false, 5)
		body := f.assert("b1", good(6))
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := f.p.FinishLogin(t.Context(), "b1", body, nil); err == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if ok != 1 {
			t.Fatalf("%d of 10 concurrent uses succeeded", ok)
		}
	})
	t.Run("counter goes backwards", func(t *testing.T) {
		f := newForger(t, false, 5)
		var cloned []byte
		_, err := f.p.FinishLogin(t.Context(), "b1", f.assert("b1", good(3)), func(_ context.Context, _ pgx.Tx, r CloneRefusal) error {
			cloned = r.CredentialID
			return nil
		})
		if !errors.Is(err, ErrPasskeyClone) || cloned == nil {
			t.Fatalf("lower counter: %v (recorded %x)", err, cloned)
		}
		var at *time.Time
		f.p.DB.QueryRow(t.Context(), `SELECT clone_warning_at FROM passkeys`).Scan(&at)
		if at == nil {
			t.Fatal("possible clone not recorded")
		}
		if _, err := f.p.FinishLogin(t.Context(), "b1", f.assert("b1", good(5)), nil); !errors.Is(err, ErrPasskeyClone) {
			t.Fatalf("equal counter: %v", err)
		}
	})
	t.Run("backup eligible flag flipped", func(t *testing.T) {
		f := newForger(t, false, 5)
		if _, err := f.p.FinishLogin(t.Context(), "b1", f.assert("b1", assertionOpts{counter: 6, flags: flagUP | flagUV | flagBE}), nil); !errors.Is(err, ErrPasskeyRefused) {
			t.Fatalf("BE 0→1: %v", err)
		}
		g := newForger(t, true, 5)
		if _, err := g.p.FinishLogin(t.Context(), "b1", g.assert("b1", good(6)), nil); !errors.Is(err, ErrPasskeyRefused) {
			t.Fatalf("BE 1→0: %v", err)
		}
	})
	t.Run("no user verification", func(t *testing.T) {
		f := newForger(t, false, 5)
		if _, err := f.p.FinishLogin(t.Context(), "b1", f.assert("b1", assertionOpts{counter: 6, flags: flagUP}), nil); !errors.Is(err, ErrPasskeyRefused) {
			t.Fatalf("UV missing: %v", err)
		}
	})
	t.Run("wrong origin", func(t *testing.T) {
		f := newForger(t, false, 5)
		o := good(6)
		o.origin = "http://evil.example"
		if _, err := f.p.FinishLogin(t.Context(), "b1", f.assert("b1", o), nil); !errors.Is(err, ErrPasskeyRefused) {
			t.Fatalf("origin: %v", err)
		}
	})
	t.Run("wrong RP ID", func(t *testing.T) {
		f := newForger(t, false, 5)
		o := good(6)
		o.rpID = "evil.example"
		if _, err := f.p.FinishLogin(t.Context(), "b1", f.assert("b1", o), nil); !errors.Is(err, ErrPasskeyRefused) {
			t.Fatalf("RP ID: %v", err)
		}
	})
	t.Run("registration data as assertion", func(t *testing.T) {
		f := newForger(t, false, 5)
		o := good(6)
		o.typ = "webauthn.create"
		if _, err := f.p.FinishLogin(t.Context(), "b1", f.assert("b1", o), nil); err == nil {
			t.Fatal("accepted a create ceremony's client data")
		}
	})
	t.Run("other browser", func(t *testing.T) {
		f := newForger(t, false, 5)
		if _, err := f.p.FinishLogin(t.Context(), "b2", f.assert("b1", good(6)), nil); !errors.Is(err, ErrNoChallenge) {
			t.Fatalf("challenge finished in another browser: %v", err)
		}
	})
	t.Run("expired challenge", func(t *testing.T) {
		f := newForger(t, false, 5)
		body := f.assert("b1", good(6))
		f.clock.Add(ChallengeLifetime + time.Second)
		if _, err := f.p.FinishLogin(t.Context(), "b1", body, nil); !errors.Is(err, ErrNoChallenge) {
			t.Fatalf("6-minute-old challenge: %v", err)
		}
	})
	t.Run("invented challenge", func(t *testing.T) {
		f := newForger(t, false, 5)
		o := good(6)
		o.challenge = base64.RawURLEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
		if _, err := f.p.FinishLogin(t.Context(), "b1", f.assert("b1", o), nil); !errors.Is(err, ErrNoChallenge) {
			t.Fatalf("challenge latch never issued: %v", err)
		}
	})
	t.Run("unknown user handle", func(t *testing.T) {
		f := newForger(t, false, 5)
		f.handle = []byte("someone-else")
		if _, err := f.p.FinishLogin(t.Context(), "b1", f.assert("b1", good(6)), nil); err == nil {
			t.Fatal("accepted an unknown user handle")
		}
	})
}

// TestRemoveLastPasskey: a passwordless account keeps its last passkey.
func TestRemoveLastPasskey(t *testing.T) {
	f := newForger(t, false, 0)
	if _, err := f.p.Remove(t.Context(), f.account, f.credID); !errors.Is(err, ErrLastCredential) {
		t.Fatalf("removing the only credential: %v", err)
	}
	if n, _ := f.p.Count(t.Context(), f.account); n != 1 {
		t.Fatal("the passkey is gone")
	}
}

// refusals collects what FinishLogin and FinishStepUp refuse, as the
// handler's CloneEvent would record it.
type refusals struct {
	mu  sync.Mutex
	all []CloneRefusal
}

func (rs *refusals) hook(_ context.Context, _ pgx.Tx, r CloneRefusal) error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.all = append(rs.all, r)
	return nil
}

func (rs *refusals) suspensions() int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	n := 0
	for _, r := range rs.all {
		if r.Suspended {
			n++
		}
	}
	return n
}

// suspendedAt reads the passkey's suspension, nil when it has none.
func (f *forger) suspendedAt() *time.Time {
	f.t.Helper()
	var at *time.Time
	if err := f.p.DB.QueryRow(f.t.Context(), `SELECT suspended_at FROM passkeys WHERE id = $1`, f.credID).Scan(&at); err != nil {
		f.t.Fatal(err)
	}
	return at
}

// TestCounterRules: WebAuthn §6.1.1 use by use. A counter that moves
// forward, or a passkey without one, signs in; a counter at or below the
// stored one is refused and suspends the passkey, and a suspended passkey
// is refused whatever it reports next.
func TestCounterRules(t *testing.T) {
	tests := []struct {
		name      string
		synced    bool
		stored    uint32
		counters  []uint32
		want      []error // per use; nil signs in
		suspended bool
	}{
		{"counter moves forward", false, 5, []uint32{6, 7, 9}, []error{nil, nil, nil}, false},
		{"a counter from zero", false, 0, []uint32{7, 8}, []error{nil, nil}, false},
		{"synced passkey that always says zero", true, 0, []uint32{0, 0, 0}, []error{nil, nil, nil}, false},
		{"equal counter", false, 5, []uint32{5}, []error{ErrPasskeyClone}, true},
		{"lower counter", false, 5, []uint32{3}, []error{ErrPasskeyClone}, true},
		{"counter back to zero", false, 5, []uint32{0}, []error{ErrPasskeyClone}, true},
		{"a copy counting past the stored counter after its refusal", false, 10, []uint32{3, 11, 12, 13},
			[]error{ErrPasskeyClone, ErrPasskeySuspended, ErrPasskeySuspended, ErrPasskeySuspended}, true},
		{"synced passkey that counts, then says zero", true, 0, []uint32{4, 0}, []error{nil, ErrPasskeyClone}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newForger(t, tt.synced, tt.stored)
			flags := byte(flagUP | flagUV)
			if tt.synced {
				flags |= flagBE
			}
			var rs refusals
			for i, c := range tt.counters {
				as, err := f.p.FinishLogin(t.Context(), "b1", f.assert("b1", assertionOpts{counter: c, flags: flags}), rs.hook)
				if tt.want[i] == nil && (err != nil || as.AccountID != f.account) {
					t.Fatalf("use %d (counter %d): %v", i+1, c, err)
				}
				if tt.want[i] != nil && !errors.Is(err, tt.want[i]) {
					t.Fatalf("use %d (counter %d): %v, want %v", i+1, c, err, tt.want[i])
				}
			}
			if got := f.suspendedAt() != nil; got != tt.suspended {
				t.Fatalf("suspended %v, want %v", got, tt.suspended)
			}
			want := 0
			if tt.suspended {
				want = 1
			}
			if rs.suspensions() != want {
				t.Fatalf("%d suspensions recorded, want %d", rs.suspensions(), want)
			}
		})
	}
}

// TestCloneSuspended: a copy whose counter is behind is refused and
// suspends the passkey; retrying with ever higher counters, all at once,
// gets it nowhere, nor does the genuine authenticator, until the owner
// reinstates it with a confirmation from after the suspension. Then a copy
// left behind shows itself at its next use.
func TestCloneSuspended(t *testing.T) {
	f := newForger(t, false, 10)
	ctx := t.Context()
	good := func(counter uint32) assertionOpts { return assertionOpts{counter: counter, flags: flagUP | flagUV} }
	var rs refusals
	if _, err := f.p.FinishLogin(ctx, "b1", f.assert("b1", good(3)), rs.hook); !errors.Is(err, ErrPasskeyClone) {
		t.Fatalf("counter 3 against 10: %v", err)
	}
	if len(rs.all) != 1 || !rs.all[0].Suspended || !rs.all[0].Regressed || rs.all[0].Stored != 10 || rs.all[0].Name != "Forged" {
		t.Fatalf("refusal %+v", rs.all)
	}
	suspended := f.suspendedAt()
	if suspended == nil {
		t.Fatal("not suspended")
	}

	// The copy tries again three times at once, each counter above the
	// stored one: the defect let the third in.
	bodies := [][]byte{f.assert("b1", good(11)), f.assert("b1", good(12)), f.assert("b1", good(13))}
	errs := make(chan error, len(bodies))
	var wg sync.WaitGroup
	for _, body := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.p.FinishLogin(ctx, "b1", body, rs.hook)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, ErrPasskeySuspended) && !errors.Is(err, ErrPasskeyClone) {
			t.Fatalf("a retry of the copy: %v", err)
		}
	}
	// The genuine authenticator is refused too, until its owner confirms it.
	if _, err := f.p.FinishLogin(ctx, "b1", f.assert("b1", good(1000)), rs.hook); !errors.Is(err, ErrPasskeySuspended) {
		t.Fatalf("the genuine passkey while suspended: %v", err)
	}
	if len(rs.all) != 5 || rs.suspensions() != 1 {
		t.Fatalf("%d refusals with %d suspensions, want 5 and 1", len(rs.all), rs.suspensions())
	}
	if at := f.suspendedAt(); !at.Equal(*suspended) {
		t.Fatalf("suspension moved from %v to %v", suspended, at)
	}
	if _, err := f.p.BeginStepUp(ctx, "b1", f.account); !errors.Is(err, ErrPasskeyNotFound) {
		t.Fatalf("a step-up offered the suspended passkey: %v", err)
	}
	if n, _ := f.p.Usable(ctx, f.account); n != 0 {
		t.Fatalf("%d usable passkeys", n)
	}

	reinstate := func(confirmedAt time.Time) error {
		return pgx.BeginFunc(ctx, f.p.DB, func(tx pgx.Tx) error {
			_, err := f.p.Reinstate(ctx, tx, f.account, f.credID, confirmedAt)
			return err
		})
	}
	if err := reinstate(suspended.Add(-time.Second)); !errors.Is(err, ErrPasskeyNotFound) {
		t.Fatalf("reinstated by a confirmation from before the suspension: %v", err)
	}
	f.clock.Add(time.Minute)
	if err := reinstate(f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if f.suspendedAt() != nil {
		t.Fatal("still suspended")
	}
	// The stored counter is the highest the key signed, so the genuine
	// passkey goes on from there, and a copy behind it is caught again.
	if _, err := f.p.FinishLogin(ctx, "b1", f.assert("b1", good(1001)), rs.hook); err != nil {
		t.Fatalf("the reinstated passkey: %v", err)
	}
	if _, err := f.p.FinishLogin(ctx, "b1", f.assert("b1", good(14)), rs.hook); !errors.Is(err, ErrPasskeyClone) {
		t.Fatalf("a copy behind the reinstated passkey: %v", err)
	}
	if f.suspendedAt() == nil || rs.suspensions() != 2 {
		t.Fatal("the copy behind did not suspend the passkey again")
	}
}

// TestStepUpWithSuspendedPasskey: a step-up begun before the suspension
// cannot finish with the suspended passkey, and the try is recorded.
func TestStepUpWithSuspendedPasskey(t *testing.T) {
	f := newForger(t, false, 5)
	a, err := f.p.BeginStepUp(t.Context(), "b1", f.account)
	if err != nil {
		t.Fatal(err)
	}
	var rs refusals
	if _, err := f.p.FinishLogin(t.Context(), "b1", f.assert("b1", assertionOpts{counter: 2, flags: flagUP | flagUV}), rs.hook); !errors.Is(err, ErrPasskeyClone) {
		t.Fatalf("lower counter: %v", err)
	}
	body := f.assert("b1", assertionOpts{counter: 6, flags: flagUP | flagUV, challenge: a.Response.Challenge.String()})
	if _, err := f.p.FinishStepUp(t.Context(), "b1", f.account, body, rs.hook); !errors.Is(err, ErrPasskeySuspended) {
		t.Fatalf("step-up with the suspended passkey: %v", err)
	}
	if len(rs.all) != 2 || rs.all[1].Suspended {
		t.Fatalf("refusals %+v", rs.all)
	}
}

// TestLastWayInWithSuspendedPasskey: a suspended passkey is no way to sign
// in. It neither keeps the password removable nor counts as the other
// passkey, and removing it is always allowed.
func TestLastWayInWithSuspendedPasskey(t *testing.T) {
	tests := []struct {
		name        string
		password    bool
		usable      int  // passkeys in good standing besides the forged one
		remove      bool // remove the suspended passkey (else a usable one, or the password)
		removePwd   bool
		wantRefused bool
	}{
		{name: "the only passkey, suspended", remove: true},
		{name: "the suspended one beside a good one", usable: 1, remove: true},
		{name: "the good one beside a suspended one", usable: 1, wantRefused: true},
		{name: "the password beside a suspended passkey", password: true, removePwd: true, wantRefused: true},
		{name: "the password beside a good passkey", password: true, usable: 1, removePwd: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newForger(t, false, 5)
			ctx := t.Context()
			if _, err := f.p.FinishLogin(ctx, "b1", f.assert("b1", assertionOpts{counter: 1, flags: flagUP | flagUV}), nil); !errors.Is(err, ErrPasskeyClone) {
				t.Fatalf("suspending: %v", err)
			}
			accounts := &Accounts{DB: f.p.DB}
			if tt.password {
				if err := accounts.SetPasswordHash(ctx, f.p.DB, f.account, "x"); err != nil {
					t.Fatal(err)
				}
			}
			var other []byte
			for range tt.usable {
				other = make([]byte, 16)
				rand.Read(other)
				if _, err := f.p.DB.Exec(ctx, `INSERT INTO passkeys (id, account_id, name, credential, backup_eligible, backup_state, created_at)
					VALUES ($1, $2, 'Good', '{}', false, false, now())`, other, f.account); err != nil {
					t.Fatal(err)
				}
			}
			var err error
			switch {
			case tt.removePwd:
				err = pgx.BeginFunc(ctx, f.p.DB, func(tx pgx.Tx) error { return accounts.RemovePassword(ctx, tx, f.account) })
			case tt.remove:
				_, err = f.p.Remove(ctx, f.account, f.credID)
			default:
				_, err = f.p.Remove(ctx, f.account, other)
			}
			if refused := errors.Is(err, ErrLastCredential); refused != tt.wantRefused || (err != nil && !refused) {
				t.Fatalf("removal: %v, want refused %v", err, tt.wantRefused)
			}
		})
	}
}
