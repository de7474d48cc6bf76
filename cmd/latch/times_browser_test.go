package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latch-idp/latch/internal/browsertest"
	"github.com/latch-idp/latch/sessions"
)

// TestTimesInBrowser: in a zone ahead of UTC (Tokyo) and one behind (Los
// Angeles), the activity and sessions pages show times of day and days in
// the browser's zone, with events just before and after its midnights on
// the right day. That holds on a page the server wrote in UTC (no tz cookie
// yet: times.js rewrites it and groups the days again) and on the next,
// which the server writes in the zone the script named, in the same words
// as the script. Every <time datetime> stays UTC RFC 3339.
func TestTimesInBrowser(t *testing.T) {
	t.Parallel()
	for name, zone := range map[string]string{"Tokyo": "Asia/Tokyo", "LosAngeles": "America/Los_Angeles"} {
		t.Run(name, func(t *testing.T) { testTimesIn(t, zone) })
	}
}

// pageTimes is what a page shows of its times.
type pageTimes struct {
	Times []struct {
		Datetime, Kind, Text, Title string
	}
	Days []struct {
		Day, Label string
		Times      []string // datetimes of the day's events
	}
	Note string
}

// readTimes is a script that reads pageTimes from the document doc.
const readTimes = `((doc) => ({
	Times: Array.from(doc.querySelectorAll('time[data-when]')).map((e) => ({
		Datetime: e.getAttribute('datetime'), Kind: e.dataset.when, Text: e.textContent, Title: e.title })),
	Days: Array.from(doc.querySelectorAll('section[data-day]')).map((s) => ({
		Day: s.dataset.day, Label: s.querySelector('h2').textContent,
		Times: Array.from(s.querySelectorAll('time[data-when]')).map((e) => e.getAttribute('datetime')) })),
	Note: (doc.querySelector('[data-zone-note]') || {}).textContent || '',
}))`

// shown reads the page in the tab, after times.js; served reads the page
// as the server writes it now, with the tab's cookies, before any script.
func shown(t *testing.T, ctx context.Context) pageTimes {
	t.Helper()
	return browsertest.Eval[pageTimes](t, ctx, readTimes+`(document)`)
}

func served(t *testing.T, ctx context.Context) pageTimes {
	t.Helper()
	return browsertest.Eval[pageTimes](t, ctx, `fetch(location.href).then((r) => r.text()).then((html) =>
		`+readTimes+`(new DOMParser().parseFromString(html, 'text/html')))`)
}

var utcRFC3339 = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)

func testTimesIn(t *testing.T, zone string) {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	l := startLatch(t)
	ctx := browsertest.Chrome(t)
	browsertest.SetTimezone(t, ctx, zone)
	passwordSignIn(t, ctx, l)
	acct, err := l.srv.Accounts().ByEmail(t.Context(), l.email)
	if err != nil {
		t.Fatal(err)
	}

	// Moments around the person's last two midnights, which fall on other
	// UTC days than their own.
	now := time.Now().In(loc)
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	lateYesterday := midnight.Add(-time.Minute)
	earlyYesterday := time.Date(now.Year(), now.Month(), now.Day()-1, 0, 1, 0, 0, loc)
	lateDayBefore := earlyYesterday.Add(-2 * time.Minute)
	for _, at := range []time.Time{lateYesterday, earlyYesterday, lateDayBefore} {
		if err := sessions.Record(t.Context(), l.srv.Sessions().DB, sessions.Event{AccountID: acct.ID, At: at, Kind: "password_set"}); err != nil {
			t.Fatal(err)
		}
	}
	// Another device that signed in the day before yesterday, just before
	// midnight, and was last active yesterday, just before midnight.
	nd := sessionForTest(acct.ID)
	nd.Mode = "standard" // whose 14 idle days keep it alive
	other, _, err := l.srv.Sessions().Create(t.Context(), nd)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.srv.Sessions().Backdate(t.Context(), other.ID, lateDayBefore, lateYesterday); err != nil {
		t.Fatal(err)
	}

	// What a person in the zone expects, worked out here with the time
	// package rather than latch's formatting.
	dayLabel := func(at time.Time) string {
		switch at.In(loc).Format(time.DateOnly) {
		case now.Format(time.DateOnly):
			return "Today"
		case earlyYesterday.Format(time.DateOnly):
			return "Yesterday"
		}
		return at.In(loc).Format("2 January 2006")
	}
	title := func(at time.Time) string {
		lt := at.In(loc)
		return lt.Format("2 January 2006, 15:04") + " " + zone + " (UTC" + lt.Format("-07:00") + ")"
	}
	dayBefore := lateDayBefore.Format("2 Jan, 15:04")
	if lateDayBefore.Year() != now.Year() {
		dayBefore = lateDayBefore.Format("2 Jan 2006, 15:04")
	}
	find := func(p pageTimes, at time.Time) (text, title string) {
		t.Helper()
		for _, tm := range p.Times {
			if tm.Datetime == at.UTC().Format(time.RFC3339) {
				return tm.Text, tm.Title
			}
		}
		t.Fatalf("no <time datetime=%q> on the page: %+v", at.UTC().Format(time.RFC3339), p.Times)
		return "", ""
	}
	allUTC := func(what string, p pageTimes) {
		t.Helper()
		if len(p.Times) == 0 {
			t.Fatalf("%s: no times", what)
		}
		for _, tm := range p.Times {
			if !utcRFC3339.MatchString(tm.Datetime) {
				t.Errorf("%s: datetime %q is not UTC RFC 3339", what, tm.Datetime)
			}
			if strings.Contains(tm.Text, "UTC") {
				t.Errorf("%s: %q is labelled UTC in the browser's zone", what, tm.Text)
			}
		}
	}
	checkActivity := func(what string, p pageTimes) {
		t.Helper()
		allUTC(what, p)
		if want := "Times are in your time zone, " + zone + "."; p.Note != want {
			t.Errorf("%s: note %q, want %q", what, p.Note, want)
		}
		for _, at := range []time.Time{lateYesterday, earlyYesterday, lateDayBefore} {
			text, tt := find(p, at)
			if want := at.In(loc).Format("15:04"); text != want || tt != title(at) {
				t.Errorf("%s: event at %v shows %q (%q), want %q (%q)", what, at, text, tt, want, title(at))
			}
		}
		// Every event sits under its own local day, each day once, newest
		// first.
		seen := map[string]bool{}
		for i, d := range p.Days {
			if seen[d.Day] || i > 0 && d.Day >= p.Days[i-1].Day {
				t.Errorf("%s: days out of order: %+v", what, p.Days)
			}
			seen[d.Day] = true
			for _, dt := range d.Times {
				at, err := time.Parse(time.RFC3339, dt)
				if err != nil {
					t.Fatal(err)
				}
				if day := at.In(loc).Format(time.DateOnly); day != d.Day || dayLabel(at) != d.Label {
					t.Errorf("%s: event at %s (%s there) is under %s %q, want %q", what, dt, day, d.Day, d.Label, dayLabel(at))
				}
			}
		}
		if len(p.Days) < 3 {
			t.Errorf("%s: %d days, want today's sign-in, yesterday and the day before: %+v", what, len(p.Days), p.Days)
		}
	}
	checkSessions := func(what string, p pageTimes) {
		t.Helper()
		allUTC(what, p)
		if text, tt := find(p, lateDayBefore); text != dayBefore || tt != title(lateDayBefore) {
			t.Errorf("%s: signed in %q (%q), want %q (%q)", what, text, tt, dayBefore, title(lateDayBefore))
		}
		// Within the hour after the person's midnight, 23:59 is said in
		// minutes ago, as any time of the last hour is.
		text, tt := find(p, lateYesterday)
		inMinutes := time.Since(lateYesterday) < time.Hour && strings.HasSuffix(text, " ago")
		if text != "yesterday, 23:59" && !inMinutes || tt != title(lateYesterday) {
			t.Errorf("%s: active %q (%q), want %q (%q)", what, text, tt, "yesterday, 23:59", title(lateYesterday))
		}
	}
	// agree holds the server's text, in the zone of the cookie, to the
	// script's. Minutes ago can tick between the two.
	agree := func(what string, server, browser pageTimes) {
		t.Helper()
		if len(server.Times) != len(browser.Times) || len(server.Days) != len(browser.Days) || server.Note != browser.Note {
			t.Fatalf("%s: the server wrote\n%+v\nthe script\n%+v", what, server, browser)
		}
		for i, s := range server.Times {
			b := browser.Times[i]
			if strings.HasSuffix(s.Text, " ago") || s.Text == "just now" {
				s.Text = b.Text
			}
			if s != b {
				t.Errorf("%s: the server wrote %+v, the script %+v", what, s, b)
			}
		}
		for i, s := range server.Days {
			if b := browser.Days[i]; s.Day != b.Day || s.Label != b.Label || strings.Join(s.Times, " ") != strings.Join(b.Times, " ") {
				t.Errorf("%s: the server's day %+v, the script's %+v", what, s, b)
			}
		}
	}
	forgetZone := func() {
		browsertest.Eval[bool](t, ctx, `document.cookie = 'latch_tz=; max-age=0; path=/'; !document.cookie.includes('latch_tz=')`)
	}

	// A first visit: the server knows no zone.
	forgetZone()
	browsertest.Navigate(t, ctx, l.url+"/account/activity")
	checkActivity("activity, first visit", shown(t, ctx))
	browsertest.Screenshot(t, ctx, "activity.png")
	// The next: the server writes in the browser's zone.
	browsertest.Navigate(t, ctx, l.url+"/account/activity")
	server := served(t, ctx)
	checkActivity("activity, as the server wrote it", server)
	agree("activity", server, shown(t, ctx))

	forgetZone()
	browsertest.Navigate(t, ctx, l.url+"/account/sessions")
	checkSessions("sessions, first visit", shown(t, ctx))
	browsertest.Screenshot(t, ctx, "sessions.png")
	browsertest.Navigate(t, ctx, l.url+"/account/sessions")
	server = served(t, ctx)
	checkSessions("sessions, as the server wrote it", server)
	agree("sessions", server, shown(t, ctx))
}
