package authn

import (
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

	"latch/internal/pgtest"
	"latch/internal/testclock"
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
	accounts := &Accounts{DB: db, Argon2: Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}}
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
	x, y := make([]byte, 32), make([]byte, 32)
	f.key.PublicKey.X.FillBytes(x)
	f.key.PublicKey.Y.FillBytes(y)
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
		_, err := f.p.FinishLogin(t.Context(), "b1", f.assert("b1", good(3)), func(acct string, id []byte) { cloned = id })
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
