package recovery

import (
	"strings"
	"testing"
)

// FuzzNormalize: whatever a person types as a recovery key, normalize
// either refuses it or gives the canonical form: the key's length, only
// base32 characters, and unchanged when normalized again (so a typed key
// and its printed form hash alike).
func FuzzNormalize(f *testing.F) {
	for _, seed := range []string{
		"ABCD-EFGH-IJKL-MNOP-QRST-UVWX-Y234", "abcd efgh ijkl mnop qrst uvwx y234", "0000-1111-8888", "",
		"ABCD-EFGH-IJKL-MNOP-QRST-UVWX-Y2345", "ÄBCD", "\x00", strings.Repeat("A", keyChars), strings.Repeat("-", 100),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, key string) {
		n, ok := normalize(key)
		if !ok {
			return
		}
		if len(n) != keyChars {
			t.Fatalf("normalize(%q) = %q: %d characters", key, n, len(n))
		}
		for _, r := range n {
			if !('A' <= r && r <= 'Z' || '2' <= r && r <= '7') {
				t.Fatalf("normalize(%q) = %q has %q", key, n, r)
			}
		}
		if again, ok := normalize(group(n)); !ok || again != n {
			t.Fatalf("printed form of %q normalizes to %q", n, again)
		}
	})
}
