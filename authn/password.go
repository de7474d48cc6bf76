package authn

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the argon2id cost parameters. docs/design.md §Policies
// P11 fixes the defaults at OWASP's minimum (m=19 MiB, t=2, p=1); hashes
// carry their parameters in the PHC string, so they can rise later without
// breaking old hashes.
type Argon2Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultArgon2 is the choice of docs/design.md §Policies P11.
var DefaultArgon2 = Argon2Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

// MinPasswordLength follows NIST SP 800-63B: at least 8 characters, no
// composition rules.
const MinPasswordLength = 8

// ErrWeakPassword is returned for a password that is too short or too long.
var ErrWeakPassword = errors.New("password must be at least 8 and at most 1024 characters")

// CheckPassword refuses a password too short or too long to be set,
// without hashing it.
func CheckPassword(password string) error {
	if n := len([]rune(password)); n < MinPasswordLength || len(password) > 1024 {
		return ErrWeakPassword
	}
	return nil
}

// hashPassword returns the PHC string of an argon2id hash of password. Only
// a Worker of the Hasher calls it: argon2id's memory is what the pool bounds.
func hashPassword(password string, p Argon2Params) (string, error) {
	if err := CheckPassword(password); err != nil {
		return "", err
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// verifyPassword compares password with a PHC string in constant time.
// Only a Worker of the Hasher calls it.
func verifyPassword(phc, password string) (bool, error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("authn: unsupported password hash")
	}
	var version int
	var p Argon2Params
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errors.New("authn: unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return false, fmt.Errorf("authn: bad argon2 parameters: %w", err)
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false, err
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
