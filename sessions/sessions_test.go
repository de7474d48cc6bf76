package sessions

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/latch-idp/latch/internal/pgtest"
	"github.com/latch-idp/latch/internal/testclock"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func newStore(t *testing.T) (*Store, *testclock.Clock, string) {
	t.Helper()
	db := pgtest.New(t)
	c := testclock.New(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	s := New(db, DefaultPolicy())
	s.Now = c.Now
	var account string
	if err := db.QueryRow(t.Context(), `INSERT INTO accounts (email, email_key) VALUES ('a@example.com', 'a@example.com') RETURNING id`).Scan(&account); err != nil {
		t.Fatal(err)
	}
	return s, c, account
}

// TestLifetimes: idle and absolute limits by security mode, enforced by the
// server; an expired session ends with reason "expired".
func TestLifetimes(t *testing.T) {
	for _, tc := range []struct {
		name           string
		mode           SecurityMode
		step, idleGap  time.Duration
		absolute, idle time.Duration
	}{
		{"standard", "standard", 24 * time.Hour, 0, 30 * 24 * time.Hour, 14 * 24 * time.Hour},
		{"advanced", "advanced", 10 * time.Minute, 0, 12 * time.Hour, 15 * time.Minute},
	} {
		t.Run(tc.name+" idle", func(t *testing.T) {
			s, c, account := newStore(t)
			_, secret, err := s.Create(t.Context(), NewDevice{AccountID: account, Mode: tc.mode, AMR: []string{"pwd"}})
			if err != nil {
				t.Fatal(err)
			}
			c.Add(tc.idle - time.Second)
			if _, err := s.BySecret(t.Context(), secret); err != nil {
				t.Fatalf("just inside the idle limit: %v", err)
			}
			c.Add(tc.idle - time.Second) // active a moment ago, so still alive
			if _, err := s.BySecret(t.Context(), secret); err != nil {
				t.Fatalf("activity did not extend the idle limit: %v", err)
			}
			c.Add(tc.idle)
			if _, err := s.BySecret(t.Context(), secret); !errors.Is(err, ErrNotFound) {
				t.Fatalf("past the idle limit: %v", err)
			}
			var reason EndReason
			s.DB.QueryRow(t.Context(), `SELECT end_reason FROM device_sessions`).Scan(&reason)
			if reason != ReasonExpired {
				t.Fatalf("end reason %q, want expired", reason)
			}
		})
		t.Run(tc.name+" absolute", func(t *testing.T) {
			s, c, account := newStore(t)
			_, secret, err := s.Create(t.Context(), NewDevice{AccountID: account, Mode: tc.mode})
			if err != nil {
				t.Fatal(err)
			}
			var elapsed time.Duration
			for elapsed+tc.step < tc.absolute {
				c.Add(tc.step)
				elapsed += tc.step
				if _, err := s.BySecret(t.Context(), secret); err != nil {
					t.Fatalf("alive at %v: %v", elapsed, err)
				}
			}
			c.Add(tc.absolute - elapsed)
			if _, err := s.BySecret(t.Context(), secret); !errors.Is(err, ErrNotFound) {
				t.Fatalf("at the absolute limit, active all along: %v", err)
			}
		})
	}
}

// TestTouchAtMostOncePerMinute: last_active_at is written at most once a
// minute per session.
func TestTouchAtMostOncePerMinute(t *testing.T) {
	s, c, account := newStore(t)
	d, secret, err := s.Create(t.Context(), NewDevice{AccountID: account, Mode: "standard"})
	if err != nil {
		t.Fatal(err)
	}
	read := func() time.Time {
		var at time.Time
		s.DB.QueryRow(t.Context(), `SELECT last_active_at FROM device_sessions WHERE id = $1`, d.ID).Scan(&at)
		return at
	}
	c.Add(30 * time.Second)
	s.BySecret(t.Context(), secret)
	if !read().Equal(d.CreatedAt) {
		t.Fatal("touched within a minute")
	}
	c.Add(31 * time.Second)
	s.BySecret(t.Context(), secret)
	if !read().Equal(c.Now()) {
		t.Fatal("not touched after a minute")
	}
}

// TestEndAndAppSessions: ending a device session ends its app sessions; an
// app session ends alone; AppAlive follows both.
func TestEndAndAppSessions(t *testing.T) {
	s, _, account := newStore(t)
	d, secret, err := s.Create(t.Context(), NewDevice{AccountID: account, Mode: "standard", IP: netip.MustParseAddr("81.2.69.142"), UserAgent: "UA"})
	if err != nil {
		t.Fatal(err)
	}
	a1, err := s.AppSession(t.Context(), s.DB, d.ID, account, "app-a")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := s.AppSession(t.Context(), s.DB, d.ID, account, "app-a")
	if again != a1 {
		t.Fatal("a second exchange made a second app session")
	}
	a2, _ := s.AppSession(t.Context(), s.DB, d.ID, account, "app-b")
	if err := s.EndApp(t.Context(), a2, ReasonSignedOut); err != nil {
		t.Fatal(err)
	}
	if alive, _ := s.AppAlive(t.Context(), s.DB, a2); alive {
		t.Fatal("ended app session alive")
	}
	if alive, _ := s.AppAlive(t.Context(), s.DB, a1); !alive {
		t.Fatal("ending one app ended another")
	}
	list, err := s.List(t.Context(), account)
	if err != nil || len(list) != 1 || len(list[0].Apps) != 1 || list[0].IP.String() != "81.2.69.142" {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := s.End(t.Context(), d.ID, ReasonSignedOut); err != nil {
		t.Fatal(err)
	}
	if alive, _ := s.AppAlive(t.Context(), s.DB, a1); alive {
		t.Fatal("app session alive after its device session ended")
	}
	if _, err := s.BySecret(t.Context(), secret); !errors.Is(err, ErrNotFound) {
		t.Fatal("cookie works after end")
	}
	if err := s.End(t.Context(), d.ID, ReasonSignedOut); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ending twice: %v", err)
	}
	if err := s.End(t.Context(), "not-a-uuid", ReasonSignedOut); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ending garbage: %v", err)
	}
	var events int
	s.DB.QueryRow(t.Context(), `SELECT count(*) FROM activity WHERE kind = 'session_ended'`).Scan(&events)
	if events != 1 {
		t.Fatalf("%d session_ended events", events)
	}
}
