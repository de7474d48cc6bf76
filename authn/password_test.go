package authn

import (
	"strings"
	"testing"
	"time"
)

func TestPasswordHash(t *testing.T) {
	h, err := hashPassword("correct horse", DefaultArgon2)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("PHC string %q lacks the parameters of docs/design.md §Policies P11", h)
	}
	if ok, err := verifyPassword(h, "correct horse"); !ok || err != nil {
		t.Fatalf("right password: %v %v", ok, err)
	}
	if ok, _ := verifyPassword(h, "correct horsE"); ok {
		t.Fatal("wrong password accepted")
	}
	other, _ := hashPassword("correct horse", DefaultArgon2)
	if other == h {
		t.Fatal("no salt")
	}
	// Hashes made with other parameters still verify (parameters can rise).
	old, _ := hashPassword("correct horse", Argon2Params{MemoryKiB: 1024, Time: 1, Threads: 1})
	if ok, _ := verifyPassword(old, "correct horse"); !ok {
		t.Fatal("hash with older parameters no longer verifies")
	}
	for _, bad := range []string{"short", strings.Repeat("x", 1025)} {
		if _, err := hashPassword(bad, DefaultArgon2); err == nil {
			t.Fatalf("accepted %d-character password", len(bad))
		}
	}
	if _, err := verifyPassword("$bcrypt$whatever", "x"); err == nil {
		t.Fatal("accepted a foreign hash format")
	}
}

func TestThrottleDelays(t *testing.T) {
	th := &Throttle{FreeFailures: 5, LockAfter: 100, BaseDelay: time.Second, MaxDelay: 15 * time.Minute}
	want := map[int]time.Duration{0: 0, 4: 0, 5: time.Second, 6: 2 * time.Second, 7: 4 * time.Second, 20: 15 * time.Minute, 99: 15 * time.Minute}
	for n, d := range want {
		if got := th.delay(n); got != d {
			t.Errorf("delay(%d) = %v, want %v", n, got, d)
		}
	}
}

func TestCheckEmail(t *testing.T) {
	for _, ok := range []string{"ada@example.com", "  Ada@Example.com "} {
		if _, err := CheckEmail(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "ada", "Ada <ada@example.com>", "a@b@c", strings.Repeat("a", 320) + "@x.com"} {
		if _, err := CheckEmail(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestWords(t *testing.T) {
	for d, want := range map[time.Duration]string{
		12 * time.Hour: "12 hours", 15 * time.Minute: "15 minutes", time.Minute: "1 minute",
		30 * 24 * time.Hour: "30 days", 90 * time.Second: "90 seconds", 24 * time.Hour: "1 day",
	} {
		if got := Words(d); got != want {
			t.Errorf("Words(%v) = %q, want %q", d, got, want)
		}
	}
}
