package demoapp

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash/fnv"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// view is the data for page.html. At most one of Error and Session is set;
// with neither, the page offers to sign in.
type view struct {
	// Manage is latch's active sessions page, where a person sees every
	// device signed in and ends any of them.
	Manage   string
	App      string
	Initial  string
	Theme    string
	ClientID string
	Issuer   string
	Notice   *notice
	Error    *errorView
	Session  *sessionView
	Agent    *agentView // the agent the person may start, when signed in
}

type notice struct {
	Kind string // "info" or "warn"
	Text string
}

type errorView struct {
	Status  int
	Heading string
	Message string
}

type sessionView struct {
	Name, Email, Subject, SID string
	AMR                       []string
	AuthTime                  time.Time
	StartedAt                 time.Time
	RefreshedAt               time.Time
	AccessExpiry              time.Time
}

// home shows who is signed in, or why they no longer are.
func (a *App) home(w http.ResponseWriter, r *http.Request) {
	v := a.view()
	id, s := a.currentSession(r)
	q := r.URL.Query()
	switch {
	case s != nil:
		v.Session = &sessionView{
			Name: s.name, Email: s.email, Subject: s.subject, SID: s.sid, AMR: s.amr,
			AuthTime: s.authTime, StartedAt: s.startedAt, RefreshedAt: s.refreshedAt, AccessExpiry: s.accessExpiry,
		}
		v.Agent = a.agentCard(s)
	case id != "":
		// The cookie names a session that is gone: say why if we know, and
		// clear the cookie either way.
		if reason := a.takeEnded(id); reason != "" {
			v.Notice = &notice{Kind: "warn", Text: reason}
		} else {
			// A cookie for a session this app never ended: it restarted.
			v.Notice = &notice{Kind: "info", Text: a.cfg.Name + " restarted and forgot its sessions: this demo keeps them in memory only. " +
				"Sign in again: if latch still knows this browser, it takes one click."}
		}
		http.SetCookie(w, a.cookie(a.sessionName, "", -1))
	}
	if state := q.Get("state"); state != "" && a.takeLogoutState(state) {
		v.Notice = &notice{Kind: "info", Text: "You signed out of latch and " + a.cfg.Name + "."}
	}
	if q.Get("signed_out") == "local" {
		v.Notice = &notice{Kind: "warn", Text: "You signed out of " + a.cfg.Name + ", but latch could not be reached, so you may still be signed in there."}
	}
	a.render(w, http.StatusOK, v)
}

// takeLogoutState reports whether state is one this app sent to the
// end_session_endpoint, and forgets it.
func (a *App) takeLogoutState(state string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	exp, ok := a.logoutStates[state]
	delete(a.logoutStates, state)
	return ok && !a.now().After(exp)
}

// fail shows an error page. The message is for people; handlers log the
// detail.
func (a *App) fail(w http.ResponseWriter, status int, heading, message string) {
	v := a.view()
	v.Error = &errorView{Status: status, Heading: heading, Message: message}
	a.render(w, status, v)
}

func (a *App) view() view {
	return view{
		Manage:   strings.TrimSuffix(a.cfg.Issuer, "/") + "/account/sessions",
		App:      a.cfg.Name,
		Initial:  initial(a.cfg.Name),
		Theme:    a.theme,
		ClientID: a.cfg.ClientID,
		Issuer:   a.cfg.Issuer,
	}
}

// render executes the page into a buffer first, so a template error is a
// clean 500 rather than half a page.
func (a *App) render(w http.ResponseWriter, status int, v view) {
	var buf bytes.Buffer
	if err := a.page.Execute(&buf, v); err != nil {
		a.log.Error("render page", "err", err)
		http.Error(w, "The page could not be shown.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// css serves the embedded stylesheet. It is small and may change between
// builds, so browsers revalidate it with the ETag instead of caching blind.
func (a *App) css(w http.ResponseWriter, r *http.Request) {
	body, err := files.ReadFile("demo.css")
	if err != nil {
		http.NotFound(w, r)
		return
	}
	sum := sha256.Sum256(body)
	h := w.Header()
	h.Set("Content-Type", "text/css; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", `"`+hex.EncodeToString(sum[:8])+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// themeFor picks the app's accent: the three known apps get their own
// colours, and any other app a stable one from its name.
// themeColors are the accents of the themes in demo.css, for the favicon.
var themeColors = map[string]string{"green": "#0a7a5f", "indigo": "#4f46e5", "orange": "#c2410c",
	"teal": "#0f766e", "rose": "#be123c", "violet": "#6d28d9"}

// favicon is the app's mark: its initial on its accent colour.
func (a *App) favicon(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "max-age=86400")
	var b strings.Builder
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="`)
	b.WriteString(themeColors[a.theme])
	b.WriteString(`"/><text x="16" y="22" font-family="system-ui,sans-serif" font-size="18" font-weight="700" fill="#fff" text-anchor="middle">`)
	template.HTMLEscape(&b, []byte(initial(a.cfg.Name)))
	b.WriteString(`</text></svg>`)
	io.WriteString(w, b.String())
}

func themeFor(name string) string {
	lower := strings.ToLower(name)
	switch {
	case strings.Contains(lower, "chatgpt"):
		return "green"
	case strings.Contains(lower, "codex"):
		return "indigo"
	case strings.Contains(lower, "platform"):
		return "orange"
	}
	others := []string{"teal", "rose", "violet"}
	h := fnv.New32a()
	h.Write([]byte(name))
	return others[h.Sum32()%uint32(len(others))]
}

func initial(name string) string {
	r, _ := utf8.DecodeRuneInString(strings.TrimSpace(name))
	if r == utf8.RuneError {
		return "?"
	}
	return string(unicode.ToUpper(r))
}
