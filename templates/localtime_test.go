package templates

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc := loadZone(name)
	if loc == nil {
		t.Fatalf("no zone %q", name)
	}
	return loc
}

func utc(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, time.UTC)
}

// TestDayTime: "Today" and "Yesterday" are the person's days, which begin
// at their midnight, not UTC's; a zone ahead of UTC (Tokyo) and one behind
// (Los Angeles) move the boundary both ways, and a day of 23 or 25 hours
// still has one midnight.
func TestDayTime(t *testing.T) {
	tokyo, la, london := zone(t, "Asia/Tokyo"), zone(t, "America/Los_Angeles"), zone(t, "Europe/London")
	// now is 15:00 UTC on 27 November: midnight starting 28 November in
	// Tokyo, 07:00 on 27 November in Los Angeles.
	afterFallBack := utc(2026, 11, 1, 20, 0)       // 12:00 PST; clocks went back from 02:00 PDT to 01:00 PST at 09:00 UTC
	afterSpringForward := utc(2026, 3, 29, 23, 10) // 00:10 BST on 30 March; the 29th had 23 hours
	tests := []struct {
		name string
		now  time.Time
		zone *time.Location
		t    time.Time
		want string
	}{
		{"UTC today", now, nil, utc(2026, 11, 27, 14, 59), "Today, 14:59 UTC"},
		{"UTC today from midnight", now, nil, utc(2026, 11, 27, 0, 0), "Today, 00:00 UTC"},
		{"UTC yesterday", now, nil, utc(2026, 11, 26, 23, 59), "Yesterday, 23:59 UTC"},
		{"UTC yesterday from midnight", now, nil, utc(2026, 11, 26, 0, 0), "Yesterday, 00:00 UTC"},
		{"UTC this year", now, nil, utc(2026, 11, 25, 23, 59), "25 Nov, 23:59 UTC"},
		{"UTC new year", now, nil, utc(2026, 1, 1, 0, 0), "1 Jan, 00:00 UTC"},
		{"UTC last year", now, nil, utc(2025, 12, 31, 23, 30), "31 Dec 2025, 23:30 UTC"},
		{"UTC from a time in another zone", now, nil, time.Date(2026, 11, 27, 1, 0, 0, 0, time.FixedZone("X", 5*3600)), "Yesterday, 20:00 UTC"},
		{"UTC later today", now, nil, now.Add(time.Hour), "Today, 16:00 UTC"},
		{"UTC in two days", now, nil, now.Add(48 * time.Hour), "29 Nov, 15:00 UTC"},
		{"UTC named", now, time.UTC, utc(2026, 11, 27, 14, 59), "Today, 14:59"},

		{"Tokyo today from its midnight", now, tokyo, utc(2026, 11, 27, 15, 0), "Today, 00:00"},
		{"Tokyo yesterday, today in UTC", now, tokyo, utc(2026, 11, 27, 14, 59), "Yesterday, 23:59"},
		{"Tokyo yesterday from midnight", now, tokyo, utc(2026, 11, 26, 15, 0), "Yesterday, 00:00"},
		{"Tokyo the day before", now, tokyo, utc(2026, 11, 26, 14, 59), "26 Nov, 23:59"},
		{"Tokyo this year, last year in UTC", now, tokyo, utc(2025, 12, 31, 15, 0), "1 Jan, 00:00"},
		{"Tokyo last year", now, tokyo, utc(2025, 12, 31, 14, 59), "31 Dec 2025, 23:59"},

		{"Los Angeles today from its midnight", now, la, utc(2026, 11, 27, 8, 0), "Today, 00:00"},
		{"Los Angeles yesterday, today in UTC", now, la, utc(2026, 11, 27, 7, 59), "Yesterday, 23:59"},
		{"Los Angeles yesterday from midnight", now, la, utc(2026, 11, 26, 8, 0), "Yesterday, 00:00"},
		{"Los Angeles the day before", now, la, utc(2026, 11, 26, 7, 59), "25 Nov, 23:59"},
		{"Los Angeles last year, this year in UTC", now, la, utc(2026, 1, 1, 7, 59), "31 Dec 2025, 23:59"},
		{"Los Angeles now", now, la, now, "Today, 07:00"},

		{"fall back: midnight of a 25-hour day", afterFallBack, la, utc(2026, 11, 1, 7, 0), "Today, 00:00"},
		{"fall back: 01:30 PDT", afterFallBack, la, utc(2026, 11, 1, 8, 30), "Today, 01:30"},
		{"fall back: 01:30 PST", afterFallBack, la, utc(2026, 11, 1, 9, 30), "Today, 01:30"},
		{"fall back: before midnight", afterFallBack, la, utc(2026, 11, 1, 6, 59), "Yesterday, 23:59"},
		{"fall back: yesterday from midnight", afterFallBack, la, utc(2026, 10, 31, 7, 0), "Yesterday, 00:00"},
		{"fall back: the day before", afterFallBack, la, utc(2026, 10, 31, 6, 59), "30 Oct, 23:59"},

		{"spring forward: midnight", afterSpringForward, london, utc(2026, 3, 29, 23, 0), "Today, 00:00"},
		{"spring forward: a 23-hour yesterday", afterSpringForward, london, utc(2026, 3, 29, 0, 5), "Yesterday, 00:05"},
		{"spring forward: after the change", afterSpringForward, london, utc(2026, 3, 29, 1, 0), "Yesterday, 02:00"},
		{"spring forward: the day before", afterSpringForward, london, utc(2026, 3, 28, 23, 59), "28 Mar, 23:59"},
	}
	for _, tt := range tests {
		if got := dayTime(tt.now, tt.t, tt.zone); got != tt.want {
			t.Errorf("%s: dayTime = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestRecent(t *testing.T) {
	tokyo, la := zone(t, "Asia/Tokyo"), zone(t, "America/Los_Angeles")
	tests := []struct {
		name string
		zone *time.Location
		t    time.Time
		want string
	}{
		{"future", nil, now.Add(time.Hour), "just now"},
		{"seconds", nil, now.Add(-40 * time.Second), "just now"},
		{"one minute", nil, now.Add(-time.Minute), "1 minute ago"},
		{"minutes", nil, now.Add(-59 * time.Minute), "59 minutes ago"},
		{"minutes in a zone", tokyo, now.Add(-59 * time.Minute), "59 minutes ago"},
		{"an hour", nil, now.Add(-time.Hour), "today, 14:00 UTC"},
		{"an hour, before Tokyo's midnight", tokyo, now.Add(-time.Hour), "yesterday, 23:00"},
		{"yesterday", nil, now.Add(-30 * time.Hour), "yesterday, 09:00 UTC"},
		{"days", la, now.Add(-12 * 24 * time.Hour), "15 Nov, 07:00"},
		{"last year", nil, utc(2025, 3, 1, 8, 0), "1 Mar 2025, 08:00 UTC"},
	}
	for _, tt := range tests {
		if got := recent(now, tt.t, tt.zone); got != tt.want {
			t.Errorf("%s: recent = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestFullTime(t *testing.T) {
	at := utc(2026, 12, 3, 9, 12)
	tests := []struct {
		zone *time.Location
		t    time.Time
		want string
	}{
		{nil, at, "3 December 2026, 09:12 UTC"},
		{time.UTC, at, "3 December 2026, 09:12 UTC"},
		{zone(t, "Asia/Tokyo"), at, "3 December 2026, 18:12 Asia/Tokyo (UTC+09:00)"},
		{zone(t, "America/Los_Angeles"), at, "3 December 2026, 01:12 America/Los_Angeles (UTC-08:00)"},
		{zone(t, "America/Los_Angeles"), utc(2026, 7, 3, 9, 12), "3 July 2026, 02:12 America/Los_Angeles (UTC-07:00)"},
		{zone(t, "Asia/Kolkata"), at, "3 December 2026, 14:42 Asia/Kolkata (UTC+05:30)"},
		{zone(t, "America/St_Johns"), at, "3 December 2026, 05:42 America/St_Johns (UTC-03:30)"},
		{zone(t, "Europe/London"), at, "3 December 2026, 09:12 Europe/London (UTC+00:00)"},
	}
	for _, tt := range tests {
		if got := fullTime(tt.t, tt.zone); got != tt.want {
			t.Errorf("fullTime(%v) = %q, want %q", tt.zone, got, tt.want)
		}
	}
}

// TestTimeView: the datetime attribute is always UTC RFC 3339, whatever
// the zone of the page or of the time given; the text follows the kind.
func TestTimeView(t *testing.T) {
	tokyo := zone(t, "Asia/Tokyo")
	at := time.Date(2026, 11, 27, 23, 57, 0, 0, tokyo)
	for _, tt := range []struct{ kind, text string }{
		{"daytime", "Yesterday, 23:57"},
		{"recent", "3 minutes ago"},
		{"clock", "23:57"},
		{"date", "27 Nov 2026"},
		{"since", "yesterday, 23:57"},
	} {
		v, err := timeView(now, tokyo, tt.kind, at, "event-time")
		if err != nil {
			t.Fatal(err)
		}
		want := TimeView{Datetime: "2026-11-27T14:57:00Z", Kind: tt.kind, Title: "27 November 2026, 23:57 Asia/Tokyo (UTC+09:00)", Text: tt.text, Class: "event-time"}
		if v != want {
			t.Errorf("%s: %+v, want %+v", tt.kind, v, want)
		}
	}
	if v, _ := timeView(now, nil, "clock", at); v.Text != "14:57" || v.Datetime != "2026-11-27T14:57:00Z" || v.Class != "" {
		t.Errorf("clock in UTC: %+v", v)
	}
	if _, err := timeView(now, nil, "ago", at); err == nil {
		t.Error("an unknown kind of time was formatted")
	}
}

// TestByDay groups a history by the days of the person's zone: the same
// events fall on other days in Tokyo and Los Angeles than in UTC.
func TestByDay(t *testing.T) {
	events := []EventView{
		{At: utc(2026, 11, 27, 15, 0), Title: "e0"},
		{At: utc(2026, 11, 27, 14, 30), Title: "e1"},
		{At: utc(2026, 11, 27, 9, 0), Title: "e2"},
		{At: utc(2026, 11, 27, 1, 0), Title: "e3"},
		{At: utc(2026, 11, 26, 20, 0), Title: "e4"},
		{At: utc(2026, 11, 26, 10, 0), Title: "e5"},
		{At: utc(2026, 11, 25, 16, 0), Title: "e6"},
	}
	type day struct {
		label, date string
		events      []string
	}
	tests := []struct {
		zone *time.Location
		want []day
	}{
		{nil, []day{
			{"Today", "2026-11-27", []string{"e0", "e1", "e2", "e3"}},
			{"Yesterday", "2026-11-26", []string{"e4", "e5"}},
			{"25 November 2026", "2026-11-25", []string{"e6"}},
		}},
		{zone(t, "Asia/Tokyo"), []day{
			{"Today", "2026-11-28", []string{"e0"}},
			{"Yesterday", "2026-11-27", []string{"e1", "e2", "e3", "e4"}},
			{"26 November 2026", "2026-11-26", []string{"e5", "e6"}},
		}},
		{zone(t, "America/Los_Angeles"), []day{
			{"Today", "2026-11-27", []string{"e0", "e1", "e2"}},
			{"Yesterday", "2026-11-26", []string{"e3", "e4", "e5"}},
			{"25 November 2026", "2026-11-25", []string{"e6"}},
		}},
	}
	for _, tt := range tests {
		var got []day
		for _, d := range byDay(now, tt.zone, events) {
			var titles []string
			for _, e := range d.Events {
				titles = append(titles, e.Title)
			}
			got = append(got, day{d.Label, d.Date, titles})
		}
		if !slices.EqualFunc(got, tt.want, func(a, b day) bool {
			return a.label == b.label && a.date == b.date && slices.Equal(a.events, b.events)
		}) {
			t.Errorf("in %v:\n got %v\nwant %v", tt.zone, got, tt.want)
		}
	}
	if byDay(now, nil, nil) != nil {
		t.Errorf("byDay(nil) is not empty")
	}
}

func TestLoadZone(t *testing.T) {
	for _, name := range []string{"Asia/Tokyo", "America/Los_Angeles", "America/Argentina/Buenos_Aires", "UTC", "Etc/GMT+5", "Europe/London"} {
		loc := loadZone(name)
		if loc == nil || loc.String() != name {
			t.Errorf("loadZone(%q) = %v", name, loc)
		}
	}
	for _, name := range []string{"", "Local", "Mars/Olympus_Mons", "../../etc/passwd", "/etc/localtime", "Asia//Tokyo", "Asia/Tokyo/",
		"Asia/Tokyo; Path=/", "Asia/Tokyo\x00", "asia tokyo", strings.Repeat("A", 65)} {
		if loc := loadZone(name); loc != nil {
			t.Errorf("loadZone(%q) = %v, want nil", name, loc)
		}
	}
}

// passThrough is middleware's writer wrapper, as metrics and logging use.
type passThrough struct{ http.ResponseWriter }

func (p passThrough) Unwrap() http.ResponseWriter { return p.ResponseWriter }

// TestTimeZones: a page rendered behind TimeZones is written in the zone of
// the person's cookie, through other middleware's writers; without a
// cookie that names a zone it is in UTC, and says so.
func TestTimeZones(t *testing.T) {
	s := parse(t)
	s.Now = func() time.Time { return now }
	data := sampleActivity()
	h := TimeZones("latch_tz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Render(passThrough{w}, http.StatusOK, Activity.With(data))
	}))
	get := func(cookie string) string {
		req := httptest.NewRequest("GET", "/account/activity", nil)
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: "latch_tz", Value: cookie})
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
		return rec.Body.String()
	}

	// 14:57 UTC is three minutes to midnight in Tokyo, where it is now
	// midnight: yesterday.
	body := get("Asia/Tokyo")
	for _, want := range []string{
		`<span data-zone-note>Times are in your time zone, Asia/Tokyo.</span>`,
		`<h2 class="day-head" id="day-2026-11-27"><time datetime="2026-11-27">Yesterday</time></h2>`,
		`<time class="event-time" datetime="2026-11-27T14:57:00Z" data-when="clock" title="27 November 2026, 23:57 Asia/Tokyo (UTC&#43;09:00)">23:57</time>`, // html/template writes + as &#43;
	} {
		if !strings.Contains(body, want) {
			t.Errorf("Tokyo: missing %q", want)
		}
	}
	if strings.Contains(body, `>Today<`) || strings.Contains(body, `UTC.`) {
		t.Error("Tokyo: the page still speaks of UTC's day")
	}
	if data.Base.Zone != nil {
		t.Error("Render changed the handler's data")
	}

	for _, cookie := range []string{"", "Mars/Olympus_Mons", "Local", "../../etc/passwd"} {
		body := get(cookie)
		for _, want := range []string{
			`<span data-zone-note>Times are in UTC.</span>`,
			`<h2 class="day-head" id="day-2026-11-27"><time datetime="2026-11-27">Today</time></h2>`,
			`title="27 November 2026, 14:57 UTC">14:57</time>`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("cookie %q: missing %q", cookie, want)
			}
		}
	}
}

// TestZonedPages renders the sessions, account and security pages in a
// zone behind UTC: times of day and dates are Los Angeles's, unlabelled,
// the titles name the zone, and every datetime stays UTC.
func TestZonedPages(t *testing.T) {
	s := parse(t)
	s.Now = func() time.Time { return now }
	la := zone(t, "America/Los_Angeles")

	sessions := sampleSessions()
	sessions.Base.Zone = la
	body := render(t, s, http.StatusOK, "sessions", sessions).Body.String()
	for _, want := range []string{
		`Signed in <time datetime="2026-11-25T13:00:00Z" data-when="recent" title="25 November 2026, 05:00 America/Los_Angeles (UTC-08:00)">25 Nov, 05:00</time>`,
		`Active <time datetime="2026-11-27T14:56:00Z" data-when="recent" title="27 November 2026, 06:56 America/Los_Angeles (UTC-08:00)">4 minutes ago</time>`,
		`Active <time datetime="2026-11-27T13:00:00Z" data-when="recent" title="27 November 2026, 05:00 America/Los_Angeles (UTC-08:00)">today, 05:00</time>`,
		`Active <time datetime="2026-11-26T19:00:00Z" data-when="recent" title="26 November 2026, 11:00 America/Los_Angeles (UTC-08:00)">yesterday, 11:00</time>`,
		`Ended <time datetime="2026-11-26T13:00:00Z" data-when="recent" title="26 November 2026, 05:00 America/Los_Angeles (UTC-08:00)">yesterday, 05:00</time>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("sessions: missing %q", want)
		}
	}
	if strings.Contains(body, "UTC</time>") {
		t.Error("sessions: a time is labelled UTC in a known zone")
	}

	account := AccountPage{Base: Base{CSRFToken: csrf, SignedIn: true, Email: "ada@example.com", Zone: la}, SignedInAt: utc(2026, 11, 27, 7, 59)}
	body = render(t, s, http.StatusOK, "account", account).Body.String()
	if want := `<dd><time datetime="2026-11-27T07:59:00Z" data-when="daytime" title="26 November 2026, 23:59 America/Los_Angeles (UTC-08:00)">Yesterday, 23:59</time></dd>`; !strings.Contains(body, want) {
		t.Errorf("account: missing %q", want)
	}

	// A passkey added at 03:00 UTC on 1 March was added on 28 February in
	// Los Angeles.
	used := utc(2026, 11, 27, 14, 0)
	security := SecurityPage{Base: Base{CSRFToken: csrf, SignedIn: true, Email: "ada@example.com", Zone: la},
		Passkeys: []PasskeyView{{ID: "a", Name: "MacBook", CreatedAt: utc(2026, 3, 1, 3, 0), LastUsedAt: &used}}}
	body = render(t, s, http.StatusOK, "security", security).Body.String()
	for _, want := range []string{
		`Added <time datetime="2026-03-01T03:00:00Z" data-when="date" title="28 February 2026, 19:00 America/Los_Angeles (UTC-08:00)">28 Feb 2026</time>`,
		`Last used <time datetime="2026-11-27T14:00:00Z" data-when="recent" title="27 November 2026, 06:00 America/Los_Angeles (UTC-08:00)">today, 06:00</time>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("security: missing %q", want)
		}
	}
}

// TestSince: what follows "acting for you since": the time of day today,
// the day as well before, in the person's zone or labelled UTC.
func TestSince(t *testing.T) {
	tokyo := zone(t, "Asia/Tokyo")
	for _, tt := range []struct {
		zone *time.Location
		t    time.Time
		want string
	}{
		{zone(t, "America/Los_Angeles"), now.Add(-2 * time.Hour), "05:00"},
		{nil, now.Add(-time.Minute), "14:59 UTC"},
		{tokyo, now.Add(-2 * time.Hour), "yesterday, 22:00"}, // just before Tokyo's midnight
		{tokyo, time.Date(2026, 11, 27, 23, 57, 0, 0, tokyo), "yesterday, 23:57"},
		{tokyo, time.Date(2026, 11, 2, 9, 12, 0, 0, tokyo), "2 Nov, 09:12"},
		{nil, time.Date(2025, 11, 2, 9, 12, 0, 0, time.UTC), "2 Nov 2025, 09:12 UTC"},
	} {
		if got := since(now, tt.t, tt.zone); got != tt.want {
			t.Errorf("since(%v in %v) = %q, want %q", tt.t, tt.zone, got, tt.want)
		}
	}
}
