package main

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The sessions panel tells the truth: these tests hold the sessions,
// activity and security pages to what they say, over HTTP against a whole
// latch (panel_browser_test.go checks what Chromium shows).

const (
	uaFirefoxLinux  = "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0"
	uaSafariIPhone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
	uaEdgeWindows   = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
	uaChromeMacOS   = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	uaFirefoxWindow = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0"
)

// signedInAs is a browser with this User-Agent, signed in with a password.
func (l *testLatch) signedInAs(ua string) *browser {
	l.t.Helper()
	b := l.browser()
	b.ua = ua
	b.signInPassword(l.email, testPassword).Body.Close()
	return b
}

// allFields returns every hidden input of a page, repeated names included.
func allFields(body string) url.Values {
	v := url.Values{}
	for _, in := range inputRe.FindAllString(body, -1) {
		if !strings.Contains(in, `type="hidden"`) {
			continue
		}
		n, val := nameRe.FindStringSubmatch(in), valueRe.FindStringSubmatch(in)
		if n != nil && val != nil {
			v.Add(n[1], html.UnescapeString(val[1]))
		}
	}
	return v
}

var flashRe = regexp.MustCompile(`(?s)<div class="notice notice-ok" role="status">.*?<p>(.*?)</p>`)
var flashAlertRe = regexp.MustCompile(`(?s)<div class="alert" role="alert">.*?<p>(.*?)</p>`)

// flash is the sentence a page's flash says, unescaped.
func flash(body string) string {
	if m := flashRe.FindStringSubmatch(body); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

func alertText(body string) string {
	if m := flashAlertRe.FindStringSubmatch(body); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

// TestEndingAsksFirst: "End selected sessions" and "Sign out all other
// sessions" end nothing until confirmed; the confirmation (here the page
// that stands in for the dialog without script) names each device; the
// answer names what ended, in a URL that says nothing; nothing ticked ends
// nothing and says so.
func TestEndingAsksFirst(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	me := l.signedInAs(uaChromeMacOS)
	phone := l.signedInAs(uaSafariIPhone)
	linux := l.signedInAs(uaFirefoxLinux)
	windows := l.signedInAs(uaEdgeWindows)
	ids := url.Values{"ids": {l.sid(phone.session()), l.sid(linux.session())}}

	// Unconfirmed: a page that names them, and nothing ends.
	resp := me.post("/account/sessions", "/account/sessions/end", ids)
	body := page(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "End these sessions?") ||
		!strings.Contains(body, "Safari on iPhone") || !strings.Contains(body, "Firefox on Linux") || strings.Contains(body, "Edge on Windows") {
		t.Fatalf("the confirmation (%d) does not name the two devices:\n%.3000s", resp.StatusCode, body)
	}
	for _, b := range []*browser{phone, linux} {
		if !signedInAt(t, l.url, "/account", b.session()) {
			t.Fatal("a session ended before the confirmation")
		}
	}
	// Confirmed.
	form := allFields(body)
	if form.Get("confirm") != "1" || len(form["ids"]) != 2 {
		t.Fatalf("the confirmation posts %v", form)
	}
	resp = me.do("POST", "/account/sessions/end", form)
	body = page(t, resp)
	if resp.Request.URL.String() != l.url+"/account/sessions" {
		t.Errorf("after ending, the URL is %s: it must say nothing", resp.Request.URL)
	}
	if got := flash(body); got != "Signed out of Safari on iPhone and Firefox on Linux." {
		t.Errorf("the flash says %q", got)
	}
	for _, b := range []*browser{phone, linux} {
		if signedInAt(t, l.url, "/account", b.session()) {
			t.Fatal("a confirmed session is still signed in")
		}
	}
	// The flash is said once.
	if got := flash(page(t, me.do("GET", "/account/sessions", nil))); got != "" {
		t.Errorf("the flash came back on reload: %q", got)
	}

	// Nothing ticked.
	resp = me.post("/account/sessions", "/account/sessions/end", nil)
	body = page(t, resp)
	if got := alertText(body); got != "Tick the sessions you want to end first." || resp.Request.URL.RawQuery != "" {
		t.Errorf("nothing ticked: %q at %s", got, resp.Request.URL)
	}

	// Sign out all other sessions.
	again := l.signedInAs(uaSafariIPhone)
	resp = me.post("/account/sessions", "/account/sessions/end-others", nil)
	body = page(t, resp)
	if !strings.Contains(body, "Sign out of all other sessions?") || !strings.Contains(body, "Edge on Windows") ||
		!strings.Contains(body, "Safari on iPhone") || strings.Contains(body, "Firefox on Linux") {
		t.Fatalf("the confirmation of all others:\n%.3000s", body)
	}
	if !signedInAt(t, l.url, "/account", windows.session()) {
		t.Fatal("all others ended before the confirmation")
	}
	resp = me.do("POST", "/account/sessions/end-others", allFields(body))
	body = page(t, resp)
	got := flash(body)
	if resp.Request.URL.RawQuery != "" || !strings.HasPrefix(got, "Signed out of ") ||
		!strings.Contains(got, "Edge on Windows") || !strings.Contains(got, "Safari on iPhone") || strings.Contains(got, "Chrome on macOS") {
		t.Errorf("after all others: %q at %s", got, resp.Request.URL)
	}
	for _, b := range []*browser{windows, again} {
		if signedInAt(t, l.url, "/account", b.session()) {
			t.Fatal("sign out all others left one signed in")
		}
	}
	if !signedInAt(t, l.url, "/account", me.session()) {
		t.Fatal("sign out all others signed this browser out")
	}
	// None left.
	resp = me.post("/account/sessions", "/account/sessions/end-others", url.Values{"confirm": {"1"}})
	if got := flash(page(t, resp)); got != "There were no other sessions to sign out of." {
		t.Errorf("none left: %q", got)
	}

	// Ending one names it too, and no outcome reads the old bare sentence.
	tablet := l.signedInAs(uaFirefoxWindow)
	resp = me.post("/account/sessions", "/account/sessions/"+l.sid(tablet.session())+"/end", nil)
	body = page(t, resp)
	if got := flash(body); got != "Signed out of Firefox on Windows." || strings.Contains(body, "It is signed out everywhere") {
		t.Errorf("ending one: %q", got)
	}
}

// TestSignedInWithIsHowItBegan: a password sign-in stays "Signed in with
// password" after a later confirmation with the authenticator app, which
// the page shows beside it.
func TestSignedInWithIsHowItBegan(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	b := l.signedInAs(uaFirefoxLinux)
	l.clock.Add(2 * time.Minute)
	enrollTOTP(t, l, b) // its confirmation counts as a step-up with the app
	body := page(t, b.do("GET", "/account/sessions", nil))
	if !strings.Contains(body, "Signed in with password</span>") {
		t.Errorf("the sign-in method changed after a confirmation:\n%.3000s", body)
	}
	if !strings.Contains(body, "Confirmed with a password and authenticator app <time") {
		t.Errorf("the confirmation is not shown beside the sign-in")
	}
	_, out := apiCall(t, l, "GET", "/api/account/sessions", "", withCookie(b, false))
	s := out["sessions"].([]any)[0].(map[string]any)
	if s["method"] != "Password" || s["confirmed_with"] != "Password and authenticator app" || s["confirmed_at"] == nil {
		t.Errorf("the API: %v", s)
	}
}

// TestRenameDevice: a device gets the name a person gives it, by the page's
// form or the API, cleaned and at most 64 characters, recorded in the
// activity; latch's own name stays beside it; two sessions of one name are
// told apart by their second line.
func TestRenameDevice(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	me := l.signedInAs(uaChromeMacOS)
	me.signInFlow(l.appA())
	l.clock.Add(90 * time.Minute)
	other := l.signedInAs(uaChromeMacOS)
	sid := l.sid(other.session())

	// The second line: place, sign-in time, apps.
	body := page(t, me.do("GET", "/account/sessions", nil))
	facts := regexp.MustCompile(`(?s)<p class="item-meta item-dates device-facts" data-device-facts>(.*?)</p>`).FindAllStringSubmatch(body, -1)
	if len(facts) != 2 {
		t.Fatalf("%d second lines", len(facts))
	}
	first, second := tagRe.ReplaceAllString(facts[0][1], " "), tagRe.ReplaceAllString(facts[1][1], " ")
	if first == second || !strings.Contains(first, "Alpha") || !strings.Contains(second, "No apps") ||
		!strings.Contains(first, "This computer") || !regexp.MustCompile(`Signed in .*today, \d\d:\d\d`).MatchString(first) ||
		!regexp.MustCompile(`Signed in .*just now`).MatchString(second) {
		t.Errorf("two Chrome on macOS rows read alike: %q and %q", first, second)
	}

	resp := me.post("/account/sessions", "/account/sessions/"+sid+"/rename", url.Values{"name": {"  Work\u202e   laptop "}})
	body = page(t, resp)
	if got := flash(body); got != "Renamed Chrome on macOS to “Work laptop”." || resp.Request.URL.RawQuery != "" {
		t.Errorf("rename: %q at %s", got, resp.Request.URL)
	}
	if !strings.Contains(body, `<span>Work laptop</span><span class="tag tag-detected"><span class="visually-hidden">latch's name: </span>Chrome on macOS</span>`) {
		t.Errorf("the renamed device does not show both names:\n%.4000s", body)
	}
	// Too long: refused, nothing changes.
	resp = me.post("/account/sessions", "/account/sessions/"+sid+"/rename", url.Values{"name": {strings.Repeat("x", 65)}})
	if got := alertText(page(t, resp)); !strings.Contains(got, "at most 64 characters") {
		t.Errorf("a long name: %q", got)
	}
	var stored string
	l.db.Pool.QueryRow(t.Context(), `SELECT custom_name FROM device_sessions WHERE id = $1`, sid).Scan(&stored)
	if stored != "Work laptop" {
		t.Fatalf("stored %q", stored)
	}

	// The API.
	code, out := apiCall(t, l, "POST", "/api/account/sessions/"+sid+"/rename", `{"name": "Kitchen  PC\u200b\u0007"}`, withCookie(me, true))
	if code != http.StatusOK || out["name"] != "Kitchen PC" {
		t.Fatalf("API rename: %d %v", code, out)
	}
	if code, _ := apiCall(t, l, "POST", "/api/account/sessions/"+sid+"/rename", `{"name": "`+strings.Repeat("é", 65)+`"}`, withCookie(me, true)); code != http.StatusBadRequest {
		t.Errorf("API, a long name: %d", code)
	}
	if code, _ := apiCall(t, l, "POST", "/api/account/sessions/"+sid+"/rename", `{"name": "x"}`, withCookie(me, false)); code != http.StatusForbidden {
		t.Errorf("API without the CSRF header: %d", code)
	}
	stranger := startLatchSecondAccount(t, l)
	if code, _ := apiCall(t, l, "POST", "/api/account/sessions/"+sid+"/rename", `{"name": "Mine"}`, withCookie(stranger, true)); code != http.StatusNotFound {
		t.Errorf("another account renamed it: %d", code)
	}
	_, out = apiCall(t, l, "GET", "/api/account/sessions", "", withCookie(me, false))
	found := false
	for _, s := range out["sessions"].([]any) {
		s := s.(map[string]any)
		if s["id"] == sid {
			found = s["name"] == "Kitchen PC" && s["device"] == "Chrome on macOS"
		}
	}
	if !found {
		t.Errorf("the API list lacks the name: %v", out)
	}
	// The history.
	body = page(t, me.do("GET", "/account/activity", nil))
	for _, want := range []string{"Renamed Chrome on macOS to “Work laptop”", "Renamed Work laptop to “Kitchen PC”"} {
		if !strings.Contains(html.UnescapeString(body), want) {
			t.Errorf("the activity lacks %q", want)
		}
	}
	// An empty name gives latch's back.
	resp = me.post("/account/sessions", "/account/sessions/"+sid+"/rename", url.Values{"name": {""}})
	if got := flash(page(t, resp)); got != "Chrome on macOS shows under latch's name for it again." {
		t.Errorf("clearing: %q", got)
	}
}

// startLatchSecondAccount signs in another account on l.
func startLatchSecondAccount(t *testing.T, l *testLatch) *browser {
	t.Helper()
	if _, err := l.srv.Accounts().Create(t.Context(), "mallory@example.com", "Mallory", testPassword); err != nil {
		t.Fatal(err)
	}
	b := l.browser()
	b.signInPassword("mallory@example.com", testPassword).Body.Close()
	return b
}

// TestAppSignOutSaysSSOCanReopen: signing one app out on another device
// says, before and after, that the device is still signed in to latch and
// can open the app again, with the "End session" button right there.
func TestAppSignOutSaysSSOCanReopen(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	me := l.signedInAs(uaChromeMacOS)
	edge := l.signedInAs(uaEdgeWindows)
	edge.signInFlow(l.appA())
	sid := l.sid(edge.session())
	body := page(t, me.do("GET", "/account/sessions", nil))
	if !strings.Contains(body, "Signing out of one app leaves Edge on Windows signed in to latch, which can open it again. To stop that, end the whole session.") {
		t.Errorf("nothing says so before")
	}
	var app string
	l.db.Pool.QueryRow(t.Context(), `SELECT id FROM app_sessions WHERE device_session_id = $1`, sid).Scan(&app)
	resp := me.post("/account/sessions", "/account/sessions/"+sid+"/apps/"+app+"/end", nil)
	body = page(t, resp)
	want := "Alpha on Edge on Windows is signed out, but that device is still signed in to latch and can open Alpha again. End the whole session to stop it."
	if got := flash(body); got != want {
		t.Errorf("after: %q, want %q", got, want)
	}
	end := regexp.MustCompile(`(?s)<div class="notice notice-ok" role="status">.*?<form method="post" action="/account/sessions/` + sid + `/end">`)
	if !end.MatchString(body) {
		t.Fatalf("no End session button in the flash:\n%.3000s", body)
	}
	resp = me.do("POST", "/account/sessions/"+sid+"/end", allFields(regexp.MustCompile(`(?s)<div class="notice notice-ok".*?</form>`).FindString(body)))
	if got := flash(page(t, resp)); got != "Signed out of Edge on Windows." {
		t.Errorf("the flash's End session: %q", got)
	}
	if signedInAt(t, l.url, "/account", edge.session()) {
		t.Error("the flash's End session left it signed in")
	}
}

// TestRecentlyEndedSaysEachApp: recently ended names each app and where its
// sign-out stands: being sent, not reached yet with the next try, reached,
// or given up.
func TestRecentlyEndedSaysEachApp(t *testing.T) {
	t.Parallel()
	l, rcv := startLatchWithReceiver(t)
	me := l.signedInAs(uaChromeMacOS)
	phone := l.signedInAs(uaSafariIPhone)
	phone.signInFlow(l.appA())
	phone.signInFlow(l.appB())
	rcv.setDown(true)
	me.post("/account/sessions", "/account/sessions/"+l.sid(phone.session())+"/end", url.Values{}).Body.Close()
	ended := func() string {
		body := page(t, me.do("GET", "/account/sessions", nil))
		m := regexp.MustCompile(`(?s)<ul class="deliveries"[^>]*>(.*?)</ul>`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no deliveries:\n%.4000s", body)
		}
		return strings.Join(strings.Fields(html.UnescapeString(tagRe.ReplaceAllString(m[1], " "))), " ")
	}
	waitFor := func(what string, ok func(string) bool) string {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			s := ended()
			if ok(s) {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never showed: %q", what, s)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	s := waitFor("a try that failed", func(s string) bool { return strings.Contains(s, "Alpha not reached yet, next try at") })
	if !strings.Contains(s, "Beta: access ended") {
		t.Errorf("Beta, which takes no logout: %q", s)
	}
	rcv.setDown(false)
	l.clock.Add(time.Hour)
	waitFor("the delivery", func(s string) bool { return strings.Contains(s, "Signed out of Alpha") })
	l.db.Pool.Exec(t.Context(), `UPDATE logout_jobs SET status = 'failed', attempts = 14`)
	s = ended()
	if !strings.Contains(s, "Couldn't reach Alpha after 14 tries. Sign out in Alpha itself.") {
		t.Errorf("failed: %q", s)
	}
	if strings.Contains(s, "Signed out of  ") || strings.Contains(s, "Signing out of …") {
		t.Errorf("a pill without its app: %q", s)
	}
}

// TestActivityReadsLikeSentences: the history names the device a session
// was ended from, the app signed out, the session reported (not the one the
// report came from), and a failed sign-in's device and place; no address
// is in the list, only in a line's details.
func TestActivityReadsLikeSentences(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	me := l.signedInAs(uaChromeMacOS)
	phone := l.signedInAs(uaSafariIPhone)
	phone.signInFlow(l.appA())
	linux := l.signedInAs(uaFirefoxLinux)
	var app string
	l.db.Pool.QueryRow(t.Context(), `SELECT id FROM app_sessions WHERE device_session_id = $1`, l.sid(phone.session())).Scan(&app)
	me.post("/account/sessions", "/account/sessions/"+l.sid(phone.session())+"/apps/"+app+"/end", nil).Body.Close()
	me.post("/account/sessions", "/account/sessions/"+l.sid(phone.session())+"/end", nil).Body.Close()
	me.post("/account/sessions", "/account/sessions/"+l.sid(linux.session())+"/not-me", nil).Body.Close()
	wrong := l.browser()
	wrong.ua = uaEdgeWindows
	wrong.signInPassword(l.email, "not the password").Body.Close()

	body := page(t, me.do("GET", "/account/activity", nil))
	lines := regexp.MustCompile(`(?s)<li class="event[^"]*">(.*?)</li>`).FindAllStringSubmatch(body, -1)
	var text []string
	for _, m := range lines {
		outside := regexp.MustCompile(`(?s)<details.*?</details>`).ReplaceAllString(m[1], "")
		line := strings.Join(strings.Fields(html.UnescapeString(tagRe.ReplaceAllString(outside, " "))), " ")
		text = append(text, line)
		if regexp.MustCompile(`\b\d{1,3}(\.\d{1,3}){3}\b|::1`).MatchString(line) {
			t.Errorf("an address in the list: %q", line)
		}
	}
	all := strings.Join(text, "\n")
	for _, want := range []string{
		"Session ended from Chrome on macOS Safari on iPhone",
		"Signed out of Alpha from Chrome on macOS Safari on iPhone",
		"Session reported as not you from Chrome on macOS Firefox on Linux",
		"Failed sign-in with a password Edge on Windows This computer",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("the activity lacks %q:\n%s", want, all)
		}
	}
	if !strings.Contains(body, `<summary>Details</summary>`) || !strings.Contains(body, `<code class="ip">127.0.0.1</code>`) {
		t.Error("the addresses are not in the details")
	}
}

// TestReportChecklist: "This wasn't me" ends the session and leads to a
// checklist whose every step is done or to do as the account stands: the
// password, what was added from that session, the other sessions, the
// activity looked at.
func TestReportChecklist(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	me := l.signedInAs(uaChromeMacOS)
	intruder := l.signedInAs(uaFirefoxLinux)
	bystander := l.signedInAs(uaSafariIPhone)
	// The intruder, freshly signed in, makes recovery keys of their own.
	resp := intruder.post("/account/security", "/account/security/recovery/generate", nil)
	if resp.Request.URL.Query().Get("done") == "" {
		t.Fatalf("the intruder's keys: %s", resp.Request.URL)
	}
	resp.Body.Close()
	sid := l.sid(intruder.session())
	resp = me.post("/account/sessions", "/account/sessions/"+sid+"/not-me", nil)
	body := page(t, resp)
	if resp.Request.URL.Path != "/account/sessions/"+sid+"/reported" {
		t.Fatalf("not me led to %s", resp.Request.URL)
	}
	if signedInAt(t, l.url, "/account", intruder.session()) {
		t.Fatal("the reported session lives")
	}
	state := func(body string) map[string]string {
		out := map[string]string{}
		for _, m := range regexp.MustCompile(`data-step="(\w+)" data-state="(\w+)"`).FindAllStringSubmatch(body, -1) {
			out[m[1]] = m[2]
		}
		return out
	}
	if got := state(body); len(got) != 4 || got["password"] != "todo" || got["credentials"] != "todo" || got["sessions"] != "todo" || got["activity"] != "todo" {
		t.Fatalf("right after the report: %v\n%.4000s", got, body)
	}
	for _, want := range []string{"We ended that session", "Firefox on Linux", "no longer trusted",
		"New recovery keys were made from that session", "Safari on iPhone"} {
		if !strings.Contains(html.UnescapeString(body), want) {
			t.Errorf("the checklist lacks %q", want)
		}
	}
	back := "/account/sessions/" + sid + "/reported"

	// Each step, done.
	me.post(back, "/account/security/recovery/generate", nil).Body.Close()
	me.post(back, "/account/security/password", url.Values{"new_password": {"a brand new password"}, "confirm_password": {"a brand new password"}}).Body.Close()
	resp = me.post(back, "/account/sessions/end-others", url.Values{"confirm": {"1"}, "back": {back}})
	body = page(t, resp)
	if resp.Request.URL.Path != back || !strings.Contains(flash(body), "Signed out of Safari on iPhone") {
		t.Errorf("signing out the others from the checklist: %s %q", resp.Request.URL, flash(body))
	}
	if signedInAt(t, l.url, "/account", bystander.session()) {
		t.Error("another session survived")
	}
	if got := state(body); got["password"] != "done" || got["credentials"] != "done" || got["sessions"] != "done" || got["activity"] != "todo" {
		t.Errorf("after the steps: %v", got)
	}
	me.do("GET", "/account/activity", nil).Body.Close()
	if got := state(page(t, me.do("GET", back, nil))); got["activity"] != "done" {
		t.Errorf("after the activity: %v", got)
	}
	// Not a report: back to the sessions page.
	if resp := me.do("GET", "/account/sessions/"+l.sid(me.session())+"/reported", nil); resp.Request.URL.Path != "/account/sessions" {
		t.Errorf("a live session's checklist: %s", resp.Request.URL)
	}
}

// TestRecoveryKeysSayWhatIsTrue: a first set does not say old keys stopped
// working; a new set does; keys made from the recovery keys panel lead
// nowhere else, even while an unconfirmed set counts for advanced
// security; the step-up page says "Confirm it's you" once.
func TestRecoveryKeysSayWhatIsTrue(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	b := l.signedInAs(uaChromeMacOS)
	resp := b.post("/account/security", "/account/security/recovery/generate", nil)
	body := page(t, resp)
	if got := flash(body); got != "Recovery keys generated. Save them now: you won't see them again." {
		t.Errorf("a first set says %q", got)
	}
	if strings.Contains(body, "no longer work") || strings.Contains(body, `href="/account/security#advanced">I've saved them`) ||
		strings.Contains(body, `under <a href="#advanced">Advanced security</a>`) {
		t.Error("a first set, from the recovery panel, speaks of old keys or advanced security")
	}
	resp = b.post("/account/security", "/account/security/recovery/generate", nil)
	body = page(t, resp)
	if got := flash(body); got != "New recovery keys generated. Your old keys no longer work." {
		t.Errorf("a second set says %q", got)
	}
	if strings.Contains(body, `href="/account/security#advanced">I've saved them`) {
		t.Error("keys from the recovery panel lead to advanced security")
	}
	// From the advanced section, they lead back there.
	resp = b.post("/account/security", "/account/security/advanced/recovery", nil)
	body = page(t, resp)
	if !strings.Contains(body, `href="/account/security#advanced">I've saved them`) || !strings.Contains(body, `under <a href="#advanced">Advanced security</a>`) {
		t.Errorf("keys for advanced security do not lead there:\n%.3000s", body)
	}

	// The step-up page.
	l.clock.Add(time.Hour)
	resp = b.post("/account/security", "/account/security/recovery/generate", nil)
	body = page(t, resp)
	main := regexp.MustCompile(`(?s)<main.*</main>`).FindString(body)
	if resp.Request.URL.Path != "/account/reauth" || strings.Count(html.UnescapeString(main), "Confirm it's you") != 1 ||
		!strings.Contains(main, "To generate new recovery keys, latch needs a recent sign-in.") {
		t.Errorf("the step-up page at %s:\n%s", resp.Request.URL, main)
	}
}

// count runs a counting query on the test's database.
func (l *testLatch) count(query string, args ...any) int {
	l.t.Helper()
	var n int
	if err := l.db.Pool.QueryRow(l.t.Context(), query, args...).Scan(&n); err != nil {
		l.t.Fatal(err)
	}
	return n
}
