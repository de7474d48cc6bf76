package seal

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealRoundTripAndBinding(t *testing.T) {
	m, err := ParseMasterKey(NewMasterKeyText())
	if err != nil {
		t.Fatal(err)
	}
	s := m.Sealer("signing-keys")
	sealed := s.Seal([]byte("secret"), []byte("kid-1"))
	if bytes.Contains(sealed, []byte("secret")) {
		t.Fatal("plaintext visible in sealed value")
	}
	got, err := s.Open(sealed, []byte("kid-1"))
	if err != nil || string(got) != "secret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := s.Open(sealed, []byte("kid-2")); !errors.Is(err, ErrOpen) {
		t.Fatalf("moved to another row: err = %v, want ErrOpen", err)
	}
	if _, err := m.Sealer("totp").Open(sealed, []byte("kid-1")); !errors.Is(err, ErrOpen) {
		t.Fatalf("other purpose opened it: err = %v", err)
	}
	other, _ := ParseMasterKey(NewMasterKeyText())
	if _, err := other.Sealer("signing-keys").Open(sealed, []byte("kid-1")); !errors.Is(err, ErrOpen) {
		t.Fatalf("other master key opened it: err = %v", err)
	}
}

func TestParseMasterKeyRejects(t *testing.T) {
	for name, text := range map[string]string{
		"not base64": "not base64!!",
		"too short":  "c2hvcnQ=",
		"empty":      "",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseMasterKey(text); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}
