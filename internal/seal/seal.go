// Package seal encrypts secrets at rest with latch's master key: signing
// keys today, TOTP secrets next. It uses AES-256-GCM with a random nonce and
// keys derived per purpose with HKDF-SHA256, so one master key never
// encrypts two kinds of data under the same key.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of a master key: 32 random bytes.
const KeySize = 32

// MasterKey is latch's root secret.
type MasterKey struct {
	key []byte
}

// ParseMasterKey reads the base64 text of a master key file (as written by
// `openssl rand -base64 32`).
func ParseMasterKey(text string) (*MasterKey, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil {
		return nil, errors.New("master key is not base64 (make one with: openssl rand -base64 32)")
	}
	if len(b) != KeySize {
		return nil, fmt.Errorf("master key is %d bytes, want %d (make one with: openssl rand -base64 32)", len(b), KeySize)
	}
	return &MasterKey{key: b}, nil
}

// NewMasterKeyText returns a fresh master key as base64 text.
func NewMasterKeyText() string {
	b := make([]byte, KeySize)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b) + "\n"
}

// Derive returns a 32-byte key for one purpose ("signing-keys", "opaque-tokens", ...).
func (m *MasterKey) Derive(purpose string) []byte {
	k, err := hkdf.Key(sha256.New, m.key, nil, "latch "+purpose, 32)
	if err != nil {
		panic(err) // only for lengths HKDF cannot produce
	}
	return k
}

// Sealer encrypts and decrypts one purpose's data.
type Sealer struct {
	aead cipher.AEAD
}

// Sealer returns the AEAD for purpose.
func (m *MasterKey) Sealer(purpose string) *Sealer {
	block, err := aes.NewCipher(m.Derive(purpose))
	if err != nil {
		panic(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return &Sealer{aead: aead}
}

// Seal encrypts plaintext; aad binds the ciphertext to its row (e.g. a key
// id) so a sealed value cannot be moved to another row.
func (s *Sealer) Seal(plaintext, aad []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, plaintext, aad)
}

// ErrOpen means a sealed value did not decrypt: a different master key, or
// tampering.
var ErrOpen = errors.New("seal: cannot decrypt (wrong master key?)")

// Open decrypts a sealed value.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, ErrOpen
	}
	p, err := s.aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return p, nil
}
