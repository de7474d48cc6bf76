package sessions

import (
	"bytes"
	"testing"
	"time"
)

// TestProvenDevice: a browser proves itself for an account by a device
// cookie the account has signed in from, or a trusted-device cookie still
// trusted; nothing else does, and not for another account.
func TestProvenDevice(t *testing.T) {
	s, c, account := newStore(t)
	ctx := t.Context()
	var other string
	if err := s.DB.QueryRow(ctx, `INSERT INTO accounts (email, email_key) VALUES ('b@example.com', 'b@example.com') RETURNING id`).Scan(&other); err != nil {
		t.Fatal(err)
	}
	did, _ := NewSecret()
	if _, err := s.SeenDevice(ctx, s.DB, account, did); err != nil {
		t.Fatal(err)
	}
	td, _, err := s.Trust(ctx, s.DB, account)
	if err != nil {
		t.Fatal(err)
	}
	stranger, _ := NewSecret()
	proven := func(accountID, did, td string) []byte {
		t.Helper()
		h, err := s.ProvenDevice(ctx, accountID, did, td)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	if h := proven(account, did, td); !bytes.Equal(h, HashSecret(did)) {
		t.Fatal("a known device cookie is not its budget")
	}
	if h := proven(account, stranger, td); !bytes.Equal(h, HashSecret(td)) {
		t.Fatal("a trusted device without a known device cookie is not proven")
	}
	for _, tc := range []struct{ name, account, did, td string }{
		{"no cookies", account, "", ""},
		{"an unknown device cookie", account, stranger, ""},
		{"another account's browser", other, did, td},
		{"no account", "", did, td},
	} {
		if h := proven(tc.account, tc.did, tc.td); h != nil {
			t.Errorf("%s proved a device", tc.name)
		}
	}
	c.Add(s.TrustLifetime() + time.Minute)
	if h := proven(account, stranger, td); h != nil {
		t.Error("an expired trusted device is still proven")
	}
}
