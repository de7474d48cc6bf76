package templates

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	// Zones load from the binary when the host has no zoneinfo, as in a
	// scratch container, so a person's zone is never refused for that.
	_ "time/tzdata"
)

// Pages give every time in the person's own time zone, which only their
// browser knows. static/times.js reads it (Intl), rewrites each
// <time data-when> in it, and keeps it in the tz cookie ("latch_tz", or
// "__Host-latch_tz" over https, as web.Cookies names it); TimeZones reads the
// cookie and Render writes the next page in that zone, so only a person's
// first page is rewritten after it loads. Without the cookie, or without
// script, times are in UTC and labelled so: true, if less friendly.
//
// The server and times.js write the same text for the same zone and
// moment; TestTimesInBrowser in cmd/latch holds them to it.

// TimeZones makes the pages that next renders give times in the zone named
// by the request's cookie of that name, when it names one. Mount it around
// every handler that renders pages.
func TimeZones(cookie string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(cookie); err == nil {
			if loc := loadZone(c.Value); loc != nil {
				w = &zoneWriter{ResponseWriter: w, zone: loc}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// zoneWriter carries the person's time zone from TimeZones to Render,
// which is given the writer and not the request.
type zoneWriter struct {
	http.ResponseWriter
	zone *time.Location
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (z *zoneWriter) Unwrap() http.ResponseWriter { return z.ResponseWriter }

// zoneOf returns the zone TimeZones found for the request w answers, or
// nil, looking through writers that other middleware wrapped around it.
func zoneOf(w http.ResponseWriter) *time.Location {
	for w != nil {
		if z, ok := w.(*zoneWriter); ok {
			return z.zone
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = u.Unwrap()
	}
	return nil
}

// zones caches the zones loaded so far. Only names that load are kept, and
// there are a few hundred, so it stays small whatever cookies arrive.
var zones sync.Map // string → *time.Location

// loadZone returns the IANA time zone name, such as "Asia/Tokyo", or nil
// when the name is not one. "Local", the server's own zone, is not a
// person's.
func loadZone(name string) *time.Location {
	if !zoneName(name) {
		return nil
	}
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	zones.Store(name, loc)
	return loc
}

// zoneName says whether s looks like an IANA zone name (letters, digits and
// _+- in parts split by /), before the file system is asked about it.
func zoneName(s string) bool {
	if s == "" || len(s) > 64 || s == "Local" {
		return false
	}
	part := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '/':
			if part == 0 {
				return false
			}
			part = 0
			continue
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '+', c == '-':
		default:
			return false
		}
		part++
	}
	return part > 0
}

// TimeView is one <time> element of a page: the "time" template writes it
// with the text, and times.js rewrites the text in the browser's zone by
// its kind (data-when).
type TimeView struct {
	Datetime string // the datetime attribute: RFC 3339 in UTC
	Kind     string // data-when: "recent", "daytime", "clock" or "date"
	Title    string // the full date, time and zone, for a tooltip
	Text     string
	Class    string // an optional class attribute
}

// timeView formats t for a page in zone, nil meaning the person's zone is
// not known. The kinds:
//
//	daytime  "Today, 07:05", "Yesterday, 22:10", "3 Dec, 09:12", "3 Dec 2025, 09:12"
//	recent   "just now", "5 minutes ago", then daytime in lower case ("today, 07:05"), to follow words
//	clock    "07:05", under a day heading
//	date     "3 Dec 2026"
//	since    "07:05" today, else daytime in lower case ("yesterday, 22:10"), to follow "since"
//
// In UTC, the fallback, daytime and recent name it ("Today, 07:05 UTC").
func timeView(now time.Time, zone *time.Location, kind string, t time.Time, class ...string) (TimeView, error) {
	v := TimeView{Datetime: t.UTC().Format(time.RFC3339), Kind: kind, Title: fullTime(t, zone)}
	switch kind {
	case "daytime":
		v.Text = dayTime(now, t, zone)
	case "recent":
		v.Text = recent(now, t, zone)
	case "clock":
		v.Text = t.In(orUTC(zone)).Format("15:04")
	case "date":
		v.Text = t.In(orUTC(zone)).Format("2 Jan 2006")
	case "since":
		v.Text = since(now, t, zone)
	default:
		return TimeView{}, fmt.Errorf("templates: no kind of time %q", kind)
	}
	if len(class) > 0 {
		v.Class = class[0]
	}
	return v, nil
}

func orUTC(zone *time.Location) *time.Location {
	if zone == nil {
		return time.UTC
	}
	return zone
}

// dayTime says when t was as a person reads it in zone: "Today, 07:05",
// "Yesterday, 22:10", "3 Dec, 09:12", and with the year when it is not
// this year's, "3 Dec 2025, 09:12". Without a zone it is UTC's, and says
// so: "Today, 07:05 UTC".
func dayTime(now, t time.Time, zone *time.Location) string {
	loc := orUTC(zone)
	lt := t.In(loc)
	var s string
	switch daysBetween(t, now, loc) {
	case 0:
		s = "Today, " + lt.Format("15:04")
	case 1:
		s = "Yesterday, " + lt.Format("15:04")
	default:
		if lt.Year() == now.In(loc).Year() {
			s = lt.Format("2 Jan, 15:04")
		} else {
			s = lt.Format("2 Jan 2006, 15:04")
		}
	}
	if zone == nil {
		s += " UTC"
	}
	return s
}

// recent says how long before now t was when it was within the hour ("just
// now", "5 minutes ago"), and otherwise when, in lower case to follow other
// words ("Active today, 07:05"). A time in the future, which a skewed clock
// can produce, reads as "just now".
func recent(now, t time.Time, zone *time.Location) string {
	switch d := now.Sub(t); {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		if n := int(d / time.Minute); n > 1 {
			return strconv.Itoa(n) + " minutes ago"
		}
		return "1 minute ago"
	}
	return lowerFirst(dayTime(now, t, zone))
}

// since says when something that is still going on began, to follow
// "since": the time of day when that was today ("acting for you since
// 07:05"), and otherwise its day too ("since yesterday, 22:10", "since 3
// Dec, 09:12"). Without a zone it is UTC's, and says so.
func since(now, t time.Time, zone *time.Location) string {
	if daysBetween(t, now, orUTC(zone)) != 0 {
		return lowerFirst(dayTime(now, t, zone))
	}
	s := t.In(orUTC(zone)).Format("15:04")
	if zone == nil {
		s += " UTC"
	}
	return s
}

// fullTime is a time's tooltip: "3 December 2026, 07:05" and the zone,
// "UTC" or its name and offset ("Asia/Tokyo, UTC+09:00").
func fullTime(t time.Time, zone *time.Location) string {
	lt := t.In(orUTC(zone))
	s := lt.Format("2 January 2006, 15:04")
	if zone == nil || zone.String() == "UTC" {
		return s + " UTC"
	}
	return s + " " + zone.String() + " (UTC" + lt.Format("-07:00") + ")"
}

// zoneNote is the activity page's sentence on the zone its times are in.
func zoneNote(zone *time.Location) string {
	if zone == nil {
		return "Times are in UTC."
	}
	return "Times are in your time zone, " + zone.String() + "."
}

// daysBetween counts the midnights in loc between a and b: 0 on the same
// day, 1 when a was the day before b, whatever the hours between them.
func daysBetween(a, b time.Time, loc *time.Location) int {
	day := func(t time.Time) time.Time {
		y, m, d := t.In(loc).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	return int(day(b).Sub(day(a)) / (24 * time.Hour))
}

// eventDay is one day of the activity page's timeline.
type eventDay struct {
	Label  string // "Today", "Yesterday" or "27 November 2026"
	Date   string // "2026-11-27", the day in the page's zone, for <time datetime> and the id
	Events []EventView
}

// byDay groups a history that is newest first into days of zone (UTC when
// nil), keeping its order.
func byDay(now time.Time, zone *time.Location, events []EventView) []eventDay {
	loc := orUTC(zone)
	var out []eventDay
	for _, e := range events {
		date := e.At.In(loc).Format(time.DateOnly)
		if n := len(out); n > 0 && out[n-1].Date == date {
			out[n-1].Events = append(out[n-1].Events, e)
			continue
		}
		label := e.At.In(loc).Format("2 January 2006")
		switch daysBetween(e.At, now, loc) {
		case 0:
			label = "Today"
		case 1:
			label = "Yesterday"
		}
		out = append(out, eventDay{Label: label, Date: date, Events: []EventView{e}})
	}
	return out
}
