package sessions

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// What the sessions page reads must stay true: the tests of Ended,
// Devices, Rename, Named and History below back the page's sentences.

// TestEndedNamesAppsAndDelivery: each app of a recently ended session comes
// with its client and how its sign-out went: being sent, not reached yet
// with the next try, delivered, failed after its tries; an app that takes
// no back-channel logout has its client and no delivery.
func TestEndedNamesAppsAndDelivery(t *testing.T) {
	s, c, account := newStore(t)
	ctx := t.Context()
	s.LogoutURI = func(client string) string {
		if client == "app-a" {
			return "http://localhost:47001/logout"
		}
		return ""
	}
	d, _, err := s.Create(ctx, NewDevice{AccountID: account, Mode: "standard", UserAgent: firefoxLinux})
	if err != nil {
		t.Fatal(err)
	}
	for _, client := range []string{"app-a", "app-b"} {
		if _, err := s.AppSession(ctx, s.DB, d.ID, account, client); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.End(ctx, d.ID, ReasonSignedOut); err != nil {
		t.Fatal(err)
	}
	apps := func() map[string]EndedApp {
		t.Helper()
		ended, err := s.Ended(ctx, account, 10)
		if err != nil || len(ended) != 1 {
			t.Fatalf("ended: %v %v", ended, err)
		}
		out := map[string]EndedApp{}
		for _, a := range ended[0].Apps {
			out[a.ClientID] = a
		}
		return out
	}
	got := apps()
	if a, ok := got["app-a"]; !ok || a.Delivery != "pending" || a.Attempts != 0 {
		t.Fatalf("app-a right after the end: %+v (all: %+v)", a, got)
	}
	if b, ok := got["app-b"]; !ok || b.Delivery != "" {
		t.Fatalf("app-b, which takes no logout: %+v (all: %+v)", b, got)
	}

	fail := func(_ context.Context, jobs []LogoutJob) []error {
		errs := make([]error, len(jobs))
		for i := range errs {
			errs[i] = errors.New("connection refused")
		}
		return errs
	}
	if n, err := s.DeliverLogouts(ctx, 10, fail); err != nil || n != 1 {
		t.Fatalf("deliver: %d %v", n, err)
	}
	a := apps()["app-a"]
	if a.Delivery != "pending" || a.Attempts != 1 || !a.NextTry.Equal(c.Now().Add(time.Second)) {
		t.Fatalf("after a failed try: %+v, want pending, 1 attempt, next try in a second", a)
	}
	// Every try fails: the job gives up.
	for range 20 {
		c.Add(time.Hour)
		if _, err := s.DeliverLogouts(ctx, 10, fail); err != nil {
			t.Fatal(err)
		}
	}
	if a := apps()["app-a"]; a.Delivery != "failed" || a.Attempts != logoutAttempts {
		t.Fatalf("after every try: %+v", a)
	}

	// Another session whose app takes the message.
	d2, _, _ := s.Create(ctx, NewDevice{AccountID: account, Mode: "standard"})
	s.AppSession(ctx, s.DB, d2.ID, account, "app-a")
	s.End(ctx, d2.ID, ReasonSignedOut)
	if _, err := s.DeliverLogouts(ctx, 10, func(_ context.Context, jobs []LogoutJob) []error { return make([]error, len(jobs)) }); err != nil {
		t.Fatal(err)
	}
	ended, _ := s.Ended(ctx, account, 10)
	if len(ended) != 2 || len(ended[0].Apps) != 1 || ended[0].Apps[0] != (EndedApp{ClientID: "app-a", Delivery: "delivered", Attempts: 1}) {
		t.Fatalf("delivered: %+v", ended)
	}
}

const (
	firefoxLinux = "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0"
	safariPhone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)

// TestSignInMethodKept: a later confirmation changes the session's amr and
// auth time, never how it signed in; a session from before signin_amr was
// kept reads its amr, and keeps it through its first confirmation.
func TestSignInMethodKept(t *testing.T) {
	s, c, account := newStore(t)
	ctx := t.Context()
	d, _, err := s.Create(ctx, NewDevice{AccountID: account, Mode: "standard", AMR: []string{"pwd"}})
	if err != nil {
		t.Fatal(err)
	}
	c.Add(time.Hour)
	if _, _, err := s.ReauthenticateTx(ctx, s.DB, d.ID, []string{"hwk", "user", "mfa"}, "phr"); err != nil {
		t.Fatal(err)
	}
	list, _, err := s.Devices(ctx, account, d.ID, 0, -1)
	if err != nil || len(list) != 1 {
		t.Fatalf("devices: %v %v", list, err)
	}
	got := list[0]
	if !slices.Equal(got.SignInAMR, []string{"pwd"}) || !slices.Equal(got.AMR, []string{"hwk", "user", "mfa"}) ||
		!got.AuthTime.Equal(c.Now()) || !got.SignedInAt.Equal(c.Now().Add(-time.Hour)) {
		t.Fatalf("after a passkey confirmation: sign-in %v at %v, last %v at %v", got.SignInAMR, got.SignedInAt, got.AMR, got.AuthTime)
	}
	if dev, err := s.Get(ctx, d.ID); err != nil || !slices.Equal(dev.SignInAMR, []string{"pwd"}) {
		t.Fatalf("Get: %+v %v", dev, err)
	}

	// A row from before the column.
	old, _, _ := s.Create(ctx, NewDevice{AccountID: account, Mode: "standard", AMR: []string{"pwd", "otp", "mfa"}})
	s.DB.Exec(ctx, `UPDATE device_sessions SET signin_amr = NULL WHERE id = $1`, old.ID)
	s.ReauthenticateTx(ctx, s.DB, old.ID, []string{"swk", "user"}, "phr")
	if dev, _ := s.Get(ctx, old.ID); !slices.Equal(dev.SignInAMR, []string{"pwd", "otp", "mfa"}) {
		t.Fatalf("an older row's first confirmation took its sign-in method: %v", dev.SignInAMR)
	}
}

// TestCleanCustomName: what a person types as a device name is stored as
// text that cannot disguise itself: no control or format characters
// (among them U+202E, which turns text around), no runs of spaces, at most
// 64 characters.
func TestCleanCustomName(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      bool
	}{
		{"Work laptop", "Work laptop", false},
		{"  Work \t\n laptop  ", "Work laptop", false},
		{"", "", false},
		{"   ", "", false},
		{"Work\u202Epot\u202Cpal", "Workpotpal", false},
		{"a\u200Bb\u2066c\u0000d\u0007e", "abcde", false},
		{"Ünïcødé 💻 ノート", "Ünïcødé 💻 ノート", false},
		{"<script>alert(1)</script>", "<script>alert(1)</script>", false}, // text; the page escapes it
		{strings.Repeat("x", 64), strings.Repeat("x", 64), false},
		{strings.Repeat("é", 64), strings.Repeat("é", 64), false},
		{strings.Repeat("x", 65), "", true},
		{"bad \xff bytes", "", true},
	} {
		got, err := CleanCustomName(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("CleanCustomName(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.err)
		}
		if tc.err && !errors.Is(err, ErrCustomName) {
			t.Errorf("CleanCustomName(%q): %v, want ErrCustomName", tc.in, err)
		}
	}
}

// TestRename: a device session of the account takes the name, recorded in
// the history in the same transaction; an empty name gives latch's back;
// the same name again records nothing; another account's session, an
// ended one and a name too long are refused and change nothing.
func TestRename(t *testing.T) {
	s, _, account := newStore(t)
	ctx := t.Context()
	me, _, _ := s.Create(ctx, NewDevice{AccountID: account, Mode: "standard", UserAgent: safariPhone})
	laptop, _, _ := s.Create(ctx, NewDevice{AccountID: account, Mode: "standard", UserAgent: firefoxLinux})
	renames := func() int {
		var n int
		s.DB.QueryRow(ctx, `SELECT count(*) FROM activity WHERE kind = 'device_renamed'`).Scan(&n)
		return n
	}
	name, err := s.Rename(ctx, account, me.ID, laptop.ID, "  Work\u202E  laptop ")
	if err != nil || name != "Work laptop" {
		t.Fatalf("rename: %q %v", name, err)
	}
	list, _, _ := s.Devices(ctx, account, me.ID, 0, -1)
	if list[1].CustomName != "Work laptop" || list[1].Name != "Firefox on Linux" {
		t.Fatalf("the laptop: %+v", list[1])
	}
	hist, _ := s.History(ctx, account, 10)
	if hist[0].Kind != "device_renamed" || hist[0].Detail["name"] != "Work laptop" || hist[0].Detail["from"] != "" ||
		hist[0].DeviceSessionID != me.ID || hist[0].Other.ID != laptop.ID || hist[0].Other.Name != "Firefox on Linux" {
		t.Fatalf("history: %+v", hist[0])
	}
	if _, err := s.Rename(ctx, account, me.ID, laptop.ID, "Work laptop"); err != nil || renames() != 1 {
		t.Fatalf("the same name again: %v, %d records", err, renames())
	}
	if name, err := s.Rename(ctx, account, me.ID, laptop.ID, ""); err != nil || name != "" || renames() != 2 {
		t.Fatalf("taking the name away: %q %v %d", name, err, renames())
	}

	var other string
	s.DB.QueryRow(ctx, `INSERT INTO accounts (email, email_key) VALUES ('b@example.com', 'b@example.com') RETURNING id`).Scan(&other)
	theirs, _, _ := s.Create(ctx, NewDevice{AccountID: other, Mode: "standard"})
	s.End(ctx, me.ID, ReasonSignedOut)
	for _, tc := range []struct {
		name, id, to string
		want         error
	}{
		{"another account's session", theirs.ID, "Mine", ErrNotYours},
		{"an ended session", me.ID, "Mine", ErrNotYours},
		{"not an id", "x", "Mine", ErrNotYours},
		{"a name too long", laptop.ID, strings.Repeat("x", 65), ErrCustomName},
	} {
		if _, err := s.Rename(ctx, account, laptop.ID, tc.id, tc.to); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if renames() != 2 {
		t.Fatalf("a refused rename was recorded: %d", renames())
	}
	var theirName string
	s.DB.QueryRow(ctx, `SELECT custom_name FROM device_sessions WHERE id = $1`, theirs.ID).Scan(&theirName)
	if theirName != "" {
		t.Fatal("another account's session was renamed")
	}
}

// TestEndedFromNamesDevice: a session ended from another of the person's
// sessions names it, in the recently ended list and in the history; so do
// an app signed out from there and a session reported from there, whose
// history line names the reported session.
func TestEndedFromNamesDevice(t *testing.T) {
	s, _, account := newStore(t)
	ctx := t.Context()
	me, _, _ := s.Create(ctx, NewDevice{AccountID: account, Mode: "standard", UserAgent: firefoxLinux})
	phone, _, _ := s.Create(ctx, NewDevice{AccountID: account, Mode: "standard", UserAgent: safariPhone})
	tablet, _, _ := s.Create(ctx, NewDevice{AccountID: account, Mode: "standard"})
	app, _ := s.AppSession(ctx, s.DB, tablet.ID, account, "app-a")
	if _, err := s.Rename(ctx, account, me.ID, me.ID, "Work laptop"); err != nil {
		t.Fatal(err)
	}
	if client, err := s.EndOwnedApp(ctx, account, me.ID, tablet.ID, app, ReasonEndedElsewhere); err != nil || client != "app-a" {
		t.Fatalf("end app: %q %v", client, err)
	}
	if err := s.EndOwned(ctx, account, me.ID, []string{phone.ID}, func(string) EndReason { return ReasonEndedElsewhere }); err != nil {
		t.Fatal(err)
	}
	if err := s.ReportNotMe(ctx, account, me.ID, tablet.ID); err != nil {
		t.Fatal(err)
	}
	ended, _ := s.Ended(ctx, account, 10)
	by := map[string]NamedSession{}
	for _, e := range ended {
		by[e.ID] = e.EndedBy
	}
	if by[phone.ID].CustomName != "Work laptop" || by[phone.ID].Name != "Firefox on Linux" || by[tablet.ID].CustomName != "Work laptop" {
		t.Fatalf("ended by: %+v", by)
	}
	hist, _ := s.History(ctx, account, 20)
	find := func(kind EventKind, session string) HistoryEvent {
		t.Helper()
		for _, e := range hist {
			if e.Kind == kind && e.DeviceSessionID == session {
				return e
			}
		}
		t.Fatalf("no %s in %s in %+v", kind, session, hist)
		return HistoryEvent{}
	}
	if e := find("session_ended", phone.ID); e.Device != "Safari on iPhone" || e.Other.ID != me.ID || e.Other.CustomName != "Work laptop" {
		t.Errorf("phone's end: %+v", e)
	}
	if e := find("app_session_ended", tablet.ID); e.Detail["client_id"] != "app-a" || e.Other.ID != me.ID {
		t.Errorf("app's end: %+v", e)
	}
	if e := find("reported_not_me", me.ID); e.Other.ID != tablet.ID || e.CustomName != "Work laptop" {
		t.Errorf("report: %+v", e)
	}
	// Signing out on the device itself names no other device.
	s.EndOwned(ctx, account, me.ID, []string{me.ID}, func(string) EndReason { return ReasonSignedOut })
	hist, _ = s.History(ctx, account, 1)
	if hist[0].Kind != "session_ended" || hist[0].Other.ID != "" || hist[0].Detail["by"] != nil {
		t.Errorf("signing out here: %+v", hist[0])
	}
	named, err := s.Named(ctx, account, []string{phone.ID, me.ID, "x"})
	if err != nil || len(named) != 2 || named[phone.ID].Name != "Safari on iPhone" || named[phone.ID].EndedAt == nil ||
		named[phone.ID].EndReason != ReasonEndedElsewhere {
		t.Fatalf("named: %+v %v", named, err)
	}
}

// TestRecordRefusesUnknownKind: a kind the history has no words for never
// reaches it.
func TestRecordRefusesUnknownKind(t *testing.T) {
	s, c, account := newStore(t)
	err := Record(t.Context(), s.DB, Event{AccountID: account, At: c.Now(), Kind: "something_new"})
	if !errors.Is(err, ErrUnknownKind) {
		t.Fatalf("recorded an unknown kind: %v", err)
	}
	for _, k := range EventKinds {
		if err := Record(t.Context(), s.DB, Event{AccountID: account, At: c.Now(), Kind: k}); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
	}
}

// TestAgentsAreNotApps: an agent acting from a device session is no app
// signed in there: `latch sessions list` names it among the agents, not
// the apps; the recently ended list marks it as an agent; and ending "one
// app on one device" does not end it (agents are stopped as agents, with
// their own history line).
func TestAgentsAreNotApps(t *testing.T) {
	s, c, account := newStore(t)
	ctx := t.Context()
	me, _, _ := s.Create(ctx, NewDevice{AccountID: account, Mode: "standard", UserAgent: firefoxLinux})
	d, _, _ := s.Create(ctx, NewDevice{AccountID: account, Mode: "standard", UserAgent: firefoxLinux})
	if _, err := s.AppSession(ctx, s.DB, d.ID, account, "app-a"); err != nil {
		t.Fatal(err)
	}
	agent, err := s.StartAgentTx(ctx, s.DB, AgentStart{AccountID: account, DeviceID: d.ID, AgentID: "runner", StartedBy: "app-a",
		Scopes: []string{"files:read"}, ExpiresAt: c.Now().Add(time.Hour), AgentName: "Task runner", StarterName: "Alpha"})
	if err != nil {
		t.Fatal(err)
	}

	list, err := s.List(ctx, account)
	if err != nil {
		t.Fatal(err)
	}
	for _, sm := range list {
		if sm.ID == d.ID && (!slices.Equal(sm.Apps, []string{"app-a"}) || !slices.Equal(sm.Agents, []string{"runner"})) {
			t.Fatalf("listed with apps %v and agents %v", sm.Apps, sm.Agents)
		}
	}

	if _, err := s.EndOwnedApp(ctx, account, me.ID, d.ID, agent.ID, ReasonEndedElsewhere); !errors.Is(err, ErrNotYours) {
		t.Fatalf("ending an agent as an app: %v", err)
	}
	if alive, _ := s.AppAlive(ctx, s.DB, agent.ID); !alive {
		t.Fatal("ending an agent as an app ended it")
	}
	var appEnded int
	s.DB.QueryRow(ctx, `SELECT count(*) FROM activity WHERE kind = 'app_session_ended'`).Scan(&appEnded)
	if appEnded != 0 {
		t.Fatalf("%d app_session_ended events", appEnded)
	}

	if err := s.End(ctx, d.ID, ReasonSignedOut); err != nil {
		t.Fatal(err)
	}
	ended, err := s.Ended(ctx, account, 10)
	if err != nil || len(ended) != 1 {
		t.Fatalf("ended: %+v %v", ended, err)
	}
	got := map[string]bool{}
	for _, a := range ended[0].Apps {
		got[a.ClientID] = a.Agent
	}
	if agent, ok := got["runner"]; len(got) != 2 || got["app-a"] || !ok || !agent {
		t.Fatalf("the ended session's apps and agents: %v", got)
	}
}
