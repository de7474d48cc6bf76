package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latch-idp/latch/internal/pg"
	"github.com/latch-idp/latch/internal/web"
	"github.com/latch-idp/latch/sessions"
	"github.com/latch-idp/latch/templates"
)

// BearerChecker lets first-party apps call the JSON API with an access
// token. The identity provider implements it; it returns the account and
// the device session (sid) of a live token that carries scope "sessions"
// and was issued to a first-party client.
type BearerChecker interface {
	SessionsToken(ctx context.Context, token string) (accountID, sid string, err error)
}

// The active sessions page (/account/sessions), its JSON API
// (/api/account/sessions) and the activity history (/account/activity).
// Ending sessions never asks for a step-up: ending is protective, and a
// person who sees a stranger's session must be able to end it at once.

func (h *Handler) sessionsRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /account/sessions", h.sessionsPage)
	mux.HandleFunc("POST /account/sessions/{id}/end", h.endOne)
	mux.HandleFunc("POST /account/sessions/{id}/apps/{app}/end", h.endApp)
	mux.HandleFunc("POST /account/sessions/{id}/not-me", h.notMe)
	mux.HandleFunc("POST /account/sessions/{id}/untrust", h.untrust)
	mux.HandleFunc("POST /account/sessions/{id}/rename", h.rename)
	mux.HandleFunc("GET /account/sessions/{id}/reported", h.reported)
	mux.HandleFunc("POST /account/sessions/end", h.endSelected)
	mux.HandleFunc("POST /account/sessions/end-others", h.endAllOthers)
	mux.HandleFunc("GET /account/activity", h.activity)
	mux.HandleFunc("GET /api/account/sessions", h.apiList)
	mux.HandleFunc("POST /api/account/sessions/{id}/end", h.apiEnd)
	mux.HandleFunc("POST /api/account/sessions/{id}/rename", h.apiRename)
	mux.HandleFunc("POST /api/account/sessions/{id}/apps/{app}/end", h.apiEndApp)
	mux.HandleFunc("POST /api/account/sessions/end", h.apiEndMany)
	h.agentRoutes(mux)
	if h.Apps != nil {
		h.appsRoutes(mux)
	}
}

// current returns the browser's live session, or sends it to sign in when
// it has none. When latch could not tell (the database did not answer), it
// answers 503 instead: the cookie may be perfectly good, and sending its
// owner to the sign-in page would tell them they were signed out.
func (h *Handler) current(w http.ResponseWriter, r *http.Request) (*sessions.Device, bool) {
	secret, _ := h.Cookies.Read(r, web.CookieSession)
	d, err := h.Sessions.BySecret(r.Context(), secret)
	if errors.Is(err, sessions.ErrNotFound) {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil, false
	}
	if err != nil {
		h.failSessions(w, r, err)
		return nil, false
	}
	if d.Restricted() {
		http.Redirect(w, r, "/account/security", http.StatusSeeOther)
		return nil, false
	}
	return d, true
}

// sessionsBase is the frame of the sessions and activity pages, and the
// person's name. An account latch could not read answers as any failure
// does (503 while the database is away), never as a page without a name.
func (h *Handler) sessionsBase(w http.ResponseWriter, r *http.Request, title string, d *sessions.Device) (templates.Base, string, error) {
	acct, err := h.Accounts.ByID(r.Context(), d.AccountID)
	if err != nil {
		return templates.Base{}, "", err
	}
	return h.baseFor(w, r, title, acct), acct.Name, nil
}

// reasons are the words for end reasons on the page.
var reasons = map[sessions.EndReason]string{
	sessions.ReasonSignedOut:      "Signed out",
	sessions.ReasonEndedElsewhere: "Ended from another device",
	sessions.ReasonNotMe:          "Reported as not you",
	sessions.ReasonExpired:        "Expired",
	sessions.ReasonAdvanced:       "Ended by advanced security",
	sessions.ReasonReplaced:       "Another account signed in",
	sessions.ReasonTokenReuse:     "Ended after a stolen token was detected",
	sessions.ReasonAdministrator:  "Ended by an administrator",
	sessions.ReasonPassword:       "Signed out when the password changed",
	sessions.ReasonAccessRemoved:  "Signed out when its access was removed",
}

// deviceName is latch's name for a device session, and its kind: the
// User-Agent's name, or the device_name of the native or CLI app that is
// all it holds. The name the person gave it is not this (see named).
func (h *Handler) deviceName(d sessions.DeviceRecord) (string, string) {
	// A CLI or native sign-in was named when it was approved, after the
	// app and the device it runs on.
	if d.SessionKind != "" && d.SessionKind != sessions.KindBrowser && d.Name != "" {
		return d.Name, string(sessions.KindApp)
	}
	// A session whose apps are all native or CLI clients is named after them.
	if len(d.Apps) > 0 && h.AppAlias != nil {
		alias := h.AppAlias(d.Apps[0].ClientID)
		for _, a := range d.Apps {
			if h.AppAlias(a.ClientID) != alias {
				alias = ""
			}
		}
		if alias != "" {
			return alias, "app"
		}
	}
	if d.Name == "" {
		return "Unknown device", "unknown"
	}
	return d.Name, d.Kind
}

// sessionKind is a session's kind for pages and the API: every session
// has one, and sessions from before kinds were kept are browsers.
func sessionKind(k string) string {
	if k == "" {
		return sessions.KindBrowser
	}
	return k
}

func placeOrUnknown(p string) string {
	if p == "" {
		return "Unknown location"
	}
	return p
}

func (h *Handler) sessionsPage(w http.ResponseWriter, r *http.Request) {
	web.NoStore(w)
	d, ok := h.current(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	pageNo := 1
	if n, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && n > 1 && n <= 1_000_000 {
		pageNo = n
	}
	devices, total, err := h.Sessions.Devices(ctx, d.AccountID, d.ID, (pageNo-1)*sessions.DevicePageSize, sessions.DevicePageSize)
	if err != nil {
		h.failSessions(w, r, err)
		return
	}
	ended, err := h.Sessions.Ended(ctx, d.AccountID, 50)
	if err != nil {
		h.failSessions(w, r, err)
		return
	}
	base, name, err := h.sessionsBase(w, r, "Sessions", d)
	if err != nil {
		h.failSessions(w, r, err)
		return
	}
	p := templates.SessionsPage{Base: base, Name: name, Total: total}
	if n := h.takeNote(w, r); n != nil {
		if err := h.noteWords(ctx, d, *n, &p); err != nil {
			h.failSessions(w, r, err)
			return
		}
	}
	if pageNo*sessions.DevicePageSize < total {
		p.NextPage = fmt.Sprintf("/account/sessions?page=%d", pageNo+1)
	}
	if pageNo > 1 {
		p.PrevPage = fmt.Sprintf("/account/sessions?page=%d", pageNo-1)
	}
	for _, rec := range devices {
		v := h.deviceView(rec, d.ID)
		if v.Current {
			p.Devices = append([]templates.DeviceView{v}, p.Devices...)
		} else {
			p.Devices = append(p.Devices, v)
		}
	}
	for _, e := range ended {
		p.Ended = append(p.Ended, h.endedView(e))
	}
	if p.Agents, err = h.agentViews(ctx, d.AccountID, d.ID, p.Devices); err != nil {
		h.failSessions(w, r, err)
		return
	}
	h.Pages.Render(w, http.StatusOK, templates.Sessions.With(p))
}

// deviceView is a live device session as the page shows it; current is
// this browser's session.
func (h *Handler) deviceView(rec sessions.DeviceRecord, current string) templates.DeviceView {
	detected, kind := h.deviceName(rec)
	v := templates.DeviceView{ID: rec.ID, Name: detected, CustomName: rec.CustomName, Kind: kind,
		SessionKind: sessionKind(rec.SessionKind), ApprovedOn: rec.ApprovedOn, Location: placeOrUnknown(rec.Place),
		SignedInAt: rec.SignedInAt, LastActiveAt: rec.LastActiveAt, Method: sessions.MethodOf(rec.SignInAMR).Title(),
		Trusted: rec.Trusted, Current: rec.ID == current}
	if rec.CustomName != "" {
		v.Name, v.Detected = rec.CustomName, detected
	}
	// A later confirmation is shown beside the sign-in, never instead.
	if phrase := sessions.MethodOf(rec.AMR).Phrase(); phrase != "" && rec.AuthTime.After(rec.SignedInAt) {
		v.ConfirmedWith, v.ConfirmedAt = phrase, rec.AuthTime
	}
	for _, a := range rec.Apps {
		v.Apps = append(v.Apps, templates.AppView{ID: a.ID, Name: h.AppName(a.ClientID), SignedInAt: a.SignedInAt, LastActiveAt: a.LastActiveAt})
	}
	return v
}

// endedView is a recently ended session as the page shows it.
func (h *Handler) endedView(e sessions.EndedRecord) templates.EndedView {
	v := templates.EndedView{Name: named(e.CustomName, e.Name), Kind: e.Kind, Location: placeOrUnknown(e.Place),
		EndedAt: e.EndedAt, Reason: endReason(e.Reason, e.EndedBy)}
	if e.Name == "" {
		v.Kind = "unknown"
	}
	for _, a := range e.Apps {
		v.Apps = append(v.Apps, templates.EndedAppView{Name: h.AppName(a.ClientID), Agent: a.Agent, Delivery: a.Delivery, NextTry: a.NextTry, Attempts: a.Attempts})
	}
	return v
}

// failSessions answers a request of the sessions or activity page that
// went wrong: 503 and the unavailable page when the database did not
// answer, 500 and latch's error page otherwise, never the error's text.
// (The security pages answer as the sign-in pages do: fail.)
func (h *Handler) failSessions(w http.ResponseWriter, r *http.Request, err error) {
	if databaseAway(err) {
		h.Logger.WarnContext(r.Context(), "answering 503: database unavailable", "path", r.URL.Path, "err", err)
		h.Pages.Unavailable(w, r)
		return
	}
	h.Logger.ErrorContext(r.Context(), "sessions page", "err", err)
	web.NoStore(w)
	h.Pages.Render(w, http.StatusInternalServerError, templates.Error.With(templates.ErrorPage{
		Base: templates.Base{Title: "Something went wrong"}, Status: http.StatusInternalServerError,
		Heading: "Something went wrong", Message: "latch could not do that just now. Please try again in a moment."}))
}

// databaseAway reports whether err means that latch could not ask its
// database: the answer is "try again", never "signed out" or "not
// found". A request cancelled on latch's side (the client hung up) is not
// that; nobody reads its answer.
func databaseAway(err error) bool {
	return pg.Unavailable(err) && !errors.Is(err, context.Canceled)
}

// apiUnavailable is the JSON API's 503.
func (h *Handler) apiUnavailable(w http.ResponseWriter, r *http.Request, err error) {
	h.Logger.WarnContext(r.Context(), "answering 503: database unavailable", "path", r.URL.Path, "err", err)
	w.Header().Set("Retry-After", templates.RetryAfter)
	apiError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "latch can't reach its database right now; try again in a moment")
}

// form checks a POST from the page and returns the browser's session.
func (h *Handler) form(w http.ResponseWriter, r *http.Request) (*sessions.Device, bool) {
	web.NoStore(w)
	if err := h.CSRF.Check(r); err != nil {
		http.Error(w, "This form has expired. Reload the page and try again.", http.StatusForbidden)
		return nil, false
	}
	return h.current(w, r)
}

// reasonFrom is the reason for ending id from session d.
func reasonFrom(d *sessions.Device, why sessions.EndReason) func(string) sessions.EndReason {
	return func(id string) sessions.EndReason {
		if why != "" {
			return why
		}
		if id == d.ID {
			return sessions.ReasonSignedOut
		}
		return sessions.ReasonEndedElsewhere
	}
}

// afterEnd answers a page form that ended sessions: back to where it came
// from (the sessions page, or the checklist after a report), with a note
// naming what ended, or to the signed-out page when this browser's own
// session ended.
func (h *Handler) afterEnd(w http.ResponseWriter, r *http.Request, d *sessions.Device, ids []string, err error) {
	if errors.Is(err, sessions.ErrNotYours) {
		h.backWith(w, r, note{Code: noteGone})
		return
	}
	if err != nil {
		h.failSessions(w, r, err)
		return
	}
	if slices.Contains(ids, d.ID) {
		h.Cookies.Clear(w, web.CookieSession)
		http.Redirect(w, r, "/logged-out", http.StatusSeeOther)
		return
	}
	if len(ids) == 0 {
		h.backWith(w, r, note{Code: noteNoneLeft})
		return
	}
	h.backWith(w, r, endedNote(uniq(ids)))
}

func (h *Handler) endOne(w http.ResponseWriter, r *http.Request) {
	d, ok := h.form(w, r)
	if !ok {
		return
	}
	ids := []string{r.PathValue("id")}
	// From here the person has decided: hanging up does not undo it.
	ctx := context.WithoutCancel(r.Context())
	h.afterEnd(w, r, d, ids, h.Sessions.EndOwned(ctx, d.AccountID, d.ID, ids, reasonFrom(d, "")))
}

// endSelected ends the ticked sessions once the person has confirmed,
// in the page's dialog or, without script, on the confirmation page this
// answers first.
func (h *Handler) endSelected(w http.ResponseWriter, r *http.Request) {
	d, ok := h.form(w, r)
	if !ok {
		return
	}
	ids := uniq(r.PostForm["ids"])
	if len(ids) == 0 {
		h.backWith(w, r, note{Code: noteNoneTicked})
		return
	}
	if r.PostFormValue("confirm") != "1" {
		h.confirmEnd(w, r, d, ids)
		return
	}
	ctx := context.WithoutCancel(r.Context())
	h.afterEnd(w, r, d, ids, h.Sessions.EndOwned(ctx, d.AccountID, d.ID, ids, reasonFrom(d, "")))
}

// endAllOthers signs out of every session but this one, once confirmed.
func (h *Handler) endAllOthers(w http.ResponseWriter, r *http.Request) {
	d, ok := h.form(w, r)
	if !ok {
		return
	}
	if r.PostFormValue("confirm") != "1" {
		h.confirmEnd(w, r, d, nil)
		return
	}
	// Whatever is live at this moment ends; a session that ended meanwhile
	// (its owner signed out, the sweep expired it) is simply not among them,
	// and one that signed in since the confirmation is.
	ctx := context.WithoutCancel(r.Context())
	var ended []string
	err := h.Sessions.Transact(ctx, func(t *sessions.Tx) error {
		var err error
		ended, err = h.Sessions.EndAllTx(ctx, t, d.AccountID, d.ID, sessions.ReasonEndedElsewhere)
		t.Forget(ended...)
		return err
	})
	h.afterEnd(w, r, d, ended, err)
}

func (h *Handler) endApp(w http.ResponseWriter, r *http.Request) {
	d, ok := h.form(w, r)
	if !ok {
		return
	}
	reason := sessions.ReasonEndedElsewhere
	if r.PathValue("id") == d.ID {
		reason = sessions.ReasonSignedOut
	}
	client, err := h.Sessions.EndOwnedApp(context.WithoutCancel(r.Context()), d.AccountID, d.ID, r.PathValue("id"), r.PathValue("app"), reason)
	if errors.Is(err, sessions.ErrNotYours) {
		h.backWith(w, r, note{Code: noteGone})
		return
	}
	if err != nil {
		h.failSessions(w, r, err)
		return
	}
	h.backWith(w, r, note{Code: noteApp, IDs: []string{r.PathValue("id")}, Client: client})
}

// rename gives a device session the name the person typed, or takes it
// away when the field is empty.
func (h *Handler) rename(w http.ResponseWriter, r *http.Request) {
	d, ok := h.form(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	name, err := h.Sessions.Rename(context.WithoutCancel(r.Context()), d.AccountID, d.ID, id, r.PostFormValue("name"))
	switch {
	case errors.Is(err, sessions.ErrNotYours):
		h.backWith(w, r, note{Code: noteGone})
	case errors.Is(err, sessions.ErrCustomName):
		h.backWith(w, r, note{Code: noteNameRefused})
	case err != nil:
		h.failSessions(w, r, err)
	case name == "":
		h.backWith(w, r, note{Code: noteNameCleared, IDs: []string{id}})
	default:
		h.backWith(w, r, note{Code: noteRenamed, IDs: []string{id}})
	}
}

// notMe ends a session the person does not recognise and records the
// report, in one transaction (the device's trusted mark goes with it),
// then leads to the checklist of what else to do.
func (h *Handler) notMe(w http.ResponseWriter, r *http.Request) {
	d, ok := h.form(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if id == d.ID {
		http.Redirect(w, r, "/account/sessions", http.StatusSeeOther)
		return
	}
	err := h.Sessions.ReportNotMe(context.WithoutCancel(r.Context()), d.AccountID, d.ID, id)
	if errors.Is(err, sessions.ErrNotYours) {
		h.backWith(w, r, note{Code: noteGone})
		return
	}
	if err != nil {
		h.failSessions(w, r, err)
		return
	}
	http.Redirect(w, r, "/account/sessions/"+id+"/reported", http.StatusSeeOther)
}

// untrust stops trusting the device a session signed in from and records
// it, in one transaction.
func (h *Handler) untrust(w http.ResponseWriter, r *http.Request) {
	d, ok := h.form(w, r)
	if !ok {
		return
	}
	err := h.Sessions.StopTrusting(context.WithoutCancel(r.Context()), d.AccountID, d.ID, r.PathValue("id"))
	if err != nil && !errors.Is(err, sessions.ErrNotFound) {
		h.failSessions(w, r, err)
		return
	}
	h.backWith(w, r, note{Code: noteUntrusted, IDs: []string{r.PathValue("id")}})
}

// --- JSON API -------------------------------------------------------------

// apiCaller authenticates an API request: a bearer access token with scope
// "sessions" from a first-party client, or the session cookie plus the CSRF
// header. It returns the account and the caller's own session id.
func (h *Handler) apiCaller(w http.ResponseWriter, r *http.Request, write bool) (accountID, self string, ok bool) {
	web.NoStore(w)
	if auth := r.Header.Get("Authorization"); auth != "" {
		token, found := strings.CutPrefix(auth, "Bearer ")
		if !found || h.Bearer == nil {
			apiError(w, http.StatusUnauthorized, "invalid_token", "send a bearer access token")
			return "", "", false
		}
		acct, sid, err := h.Bearer.SessionsToken(r.Context(), token)
		if err != nil && databaseAway(err) {
			h.apiUnavailable(w, r, err)
			return "", "", false
		}
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="sessions"`)
			apiError(w, http.StatusForbidden, "insufficient_scope", "the token needs scope sessions from a first-party app")
			return "", "", false
		}
		return acct, sid, true
	}
	if write {
		// The CSRF token must come in the header: a form cannot set one.
		if r.Header.Get(web.CSRFHeader) == "" || h.CSRF.Check(r) != nil {
			apiError(w, http.StatusForbidden, "csrf", "missing or wrong X-CSRF-Token header")
			return "", "", false
		}
	}
	secret, _ := h.Cookies.Read(r, web.CookieSession)
	d, err := h.Sessions.BySecret(r.Context(), secret)
	if err != nil && !errors.Is(err, sessions.ErrNotFound) {
		h.apiFail(w, r, err)
		return "", "", false
	}
	if err != nil || d.Restricted() {
		apiError(w, http.StatusUnauthorized, "unauthenticated", "sign in first")
		return "", "", false
	}
	return d.AccountID, d.ID, true
}

// apiFail answers an API call that went wrong: 503 when the database did
// not answer, 500 otherwise.
func (h *Handler) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	if databaseAway(err) {
		h.apiUnavailable(w, r, err)
		return
	}
	h.Logger.ErrorContext(r.Context(), "sessions api", "err", err)
	apiError(w, http.StatusInternalServerError, "server_error", "try again")
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": msg}) // see writeJSON
}

func apiJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v) // see writeJSON
}

// APISession is one device session in the JSON API. Device is latch's
// name for it; Name is the one the person gave it, if any. Method is how
// the session was created; ConfirmedWith and ConfirmedAt the latest
// confirmation since, if any.
type APISession struct {
	ID      string `json:"id"`
	Current bool   `json:"current"`
	Device  string `json:"device"`
	Name    string `json:"name,omitempty"`
	// Kind is the kind of sign-in: "browser", "cli" (a command-line tool
	// signed in with the device grant) or "native" (a desktop or mobile
	// app). DeviceKind is the kind of device, for an icon: "desktop",
	// "phone", "tablet", "app" or "unknown".
	Kind       string `json:"kind"`
	DeviceKind string `json:"device_kind"`
	// ApprovedOn is the device a CLI or native sign-in was approved on.
	ApprovedOn    string     `json:"approved_on,omitempty"`
	Location      string     `json:"location"`
	IP            string     `json:"ip,omitempty"`
	SignedInAt    time.Time  `json:"signed_in_at"`
	LastActiveAt  time.Time  `json:"last_active_at"`
	Method        string     `json:"method"`
	ConfirmedWith string     `json:"confirmed_with,omitempty"`
	ConfirmedAt   *time.Time `json:"confirmed_at,omitempty"`
	Trusted       bool       `json:"trusted"`
	Apps          []APIApp   `json:"apps"`
}

// APIApp is one app session in the JSON API.
type APIApp struct {
	ID           string    `json:"id"`
	ClientID     string    `json:"client_id"`
	Name         string    `json:"name"`
	SignedInAt   time.Time `json:"signed_in_at"`
	LastActiveAt time.Time `json:"last_active_at"`
}

func (h *Handler) apiList(w http.ResponseWriter, r *http.Request) {
	acct, self, ok := h.apiCaller(w, r, false)
	if !ok {
		return
	}
	devices, _, err := h.Sessions.Devices(r.Context(), acct, self, 0, -1)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	out := []APISession{}
	for _, d := range devices {
		name, kind := h.deviceName(d)
		s := APISession{ID: d.ID, Current: d.ID == self, Device: name, Name: d.CustomName, Kind: sessionKind(d.SessionKind), DeviceKind: kind,
			ApprovedOn: d.ApprovedOn, Location: placeOrUnknown(d.Place),
			SignedInAt: d.SignedInAt, LastActiveAt: d.LastActiveAt, Method: sessions.MethodOf(d.SignInAMR).Title(), Trusted: d.Trusted, Apps: []APIApp{}}
		if d.AuthTime.After(d.SignedInAt) {
			at := d.AuthTime
			s.ConfirmedWith, s.ConfirmedAt = sessions.MethodOf(d.AMR).Title(), &at
		}
		if d.IP.IsValid() {
			s.IP = d.IP.String()
		}
		for _, a := range d.Apps {
			s.Apps = append(s.Apps, APIApp{ID: a.ID, ClientID: a.ClientID, Name: h.AppName(a.ClientID), SignedInAt: a.SignedInAt, LastActiveAt: a.LastActiveAt})
		}
		if s.Current {
			out = append([]APISession{s}, out...)
		} else {
			out = append(out, s)
		}
	}
	apiJSON(w, map[string]any{"sessions": out})
}

func apiReason(self string) func(string) sessions.EndReason {
	return func(id string) sessions.EndReason {
		if id == self {
			return sessions.ReasonSignedOut
		}
		return sessions.ReasonEndedElsewhere
	}
}

func (h *Handler) apiEnded(w http.ResponseWriter, r *http.Request, n int, err error) {
	switch {
	case errors.Is(err, sessions.ErrNotYours):
		apiError(w, http.StatusNotFound, "not_found", "no such session")
	case err != nil:
		h.apiFail(w, r, err)
	default:
		apiJSON(w, map[string]int{"ended": n})
	}
}

func (h *Handler) apiEnd(w http.ResponseWriter, r *http.Request) {
	acct, self, ok := h.apiCaller(w, r, true)
	if !ok {
		return
	}
	ids := []string{r.PathValue("id")}
	h.apiEnded(w, r, 1, h.Sessions.EndOwned(context.WithoutCancel(r.Context()), acct, self, ids, apiReason(self)))
}

// apiRename names a device session: {"name": "Work laptop"}, or "" to take
// the name away. It answers with the name as stored.
func (h *Handler) apiRename(w http.ResponseWriter, r *http.Request) {
	acct, self, ok := h.apiCaller(w, r, true)
	if !ok {
		return
	}
	var in struct {
		Name *string `json:"name"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil || json.Unmarshal(body, &in) != nil || in.Name == nil {
		apiError(w, http.StatusBadRequest, "invalid_request", `send {"name": "..."}`)
		return
	}
	name, err := h.Sessions.Rename(context.WithoutCancel(r.Context()), acct, self, r.PathValue("id"), *in.Name)
	switch {
	case errors.Is(err, sessions.ErrNotYours):
		apiError(w, http.StatusNotFound, "not_found", "no such session")
	case errors.Is(err, sessions.ErrCustomName):
		apiError(w, http.StatusBadRequest, "invalid_name", "a device name is at most 64 characters of text")
	case err != nil:
		h.apiFail(w, r, err)
	default:
		apiJSON(w, map[string]string{"id": r.PathValue("id"), "name": name})
	}
}

func (h *Handler) apiEndApp(w http.ResponseWriter, r *http.Request) {
	acct, self, ok := h.apiCaller(w, r, true)
	if !ok {
		return
	}
	reason := sessions.ReasonEndedElsewhere
	if r.PathValue("id") == self {
		reason = sessions.ReasonSignedOut
	}
	_, err := h.Sessions.EndOwnedApp(context.WithoutCancel(r.Context()), acct, self, r.PathValue("id"), r.PathValue("app"), reason)
	h.apiEnded(w, r, 1, err)
}

func (h *Handler) apiEndMany(w http.ResponseWriter, r *http.Request) {
	acct, self, ok := h.apiCaller(w, r, true)
	if !ok {
		return
	}
	var in struct {
		IDs       []string `json:"ids"`
		AllOthers bool     `json:"all_others"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil || json.Unmarshal(body, &in) != nil || (len(in.IDs) == 0) == !in.AllOthers {
		apiError(w, http.StatusBadRequest, "invalid_request", `send {"ids": [...]} or {"all_others": true}`)
		return
	}
	ctx := context.WithoutCancel(r.Context())
	if in.AllOthers {
		n, err := h.Sessions.EndAll(ctx, acct, self, sessions.ReasonEndedElsewhere)
		h.apiEnded(w, r, n, err)
		return
	}
	h.apiEnded(w, r, len(uniq(in.IDs)), h.Sessions.EndOwned(ctx, acct, self, in.IDs, apiReason(self)))
}
