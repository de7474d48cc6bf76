package account

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/latch-idp/latch/internal/web"
	"github.com/latch-idp/latch/sessions"
	"github.com/latch-idp/latch/templates"
)

// After "This wasn't me" the session has ended and its device's trusted
// mark is gone. The checklist at /account/sessions/{id}/reported walks
// the person through the rest, on one page, each step done or to do as the
// account stands now, never as a box they tick:
//
//   - the password: changed or removed after that session signed in (from
//     another session), or there is none;
//   - passkeys, the authenticator app and recovery keys: nothing added
//     from that session is still there;
//   - every other session signed out;
//   - the activity looked at since the report (a cookie the activity page
//     sets).

// markActivitySeen is called by the activity page.
func (h *Handler) markActivitySeen(w http.ResponseWriter) {
	h.Cookies.Set(w, web.CookieActivitySeen, strconv.FormatInt(h.Now().Unix(), 10), 24*time.Hour)
}

// activitySeenSince reports whether this browser opened the activity page
// at t or later.
func (h *Handler) activitySeenSince(r *http.Request, t time.Time) bool {
	v, ok := h.Cookies.Read(r, web.CookieActivitySeen)
	if !ok {
		return false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return err == nil && !time.Unix(n, 0).Before(t.Truncate(time.Second))
}

func (h *Handler) reported(w http.ResponseWriter, r *http.Request) {
	web.NoStore(w)
	d, ok := h.current(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	id := r.PathValue("id")
	names, err := h.Sessions.Named(ctx, d.AccountID, []string{id})
	if err != nil {
		h.failSessions(w, r, err)
		return
	}
	rep, ok := names[id]
	if !ok || rep.EndedAt == nil || rep.EndReason != sessions.ReasonNotMe {
		http.Redirect(w, r, "/account/sessions", http.StatusSeeOther)
		return
	}
	acct, err := h.Accounts.ByID(ctx, d.AccountID)
	if err != nil {
		h.failSessions(w, r, err)
		return
	}
	p := templates.ReportedPage{Base: h.baseFor(w, r, "What to do next", acct), Name: acct.Name,
		Back: "/account/sessions/" + id + "/reported",
		Device: templates.DeviceView{ID: id, Name: named(rep.CustomName, rep.Name), Kind: rep.Kind,
			Location: placeOrUnknown(rep.Place), SignedInAt: rep.SignedInAt}}
	if rep.CustomName != "" {
		p.Device.Detected = rep.Name
	}
	if n := h.takeNote(w, r); n != nil {
		// The sessions step's form comes back here.
		var said templates.SessionsPage
		if err := h.noteWords(ctx, d, *n, &said); err != nil {
			h.failSessions(w, r, err)
			return
		}
		p.Flash = said.Flash
	}
	steps, err := h.reportSteps(ctx, r, d, acct.HasPassword, rep, &p)
	if err != nil {
		h.failSessions(w, r, err)
		return
	}
	p.Steps = steps
	h.Pages.Render(w, http.StatusOK, templates.Reported.With(p))
}

// reportSteps works out the checklist after rep was reported.
func (h *Handler) reportSteps(ctx context.Context, r *http.Request, d *sessions.Device, hasPassword bool,
	rep sessions.NamedSession, p *templates.ReportedPage) ([]templates.ReportStep, error) {
	since, reportedAt := rep.SignedInAt, *rep.EndedAt
	events, err := h.Sessions.History(ctx, d.AccountID, 500)
	if err != nil {
		return nil, err
	}
	// Oldest first, from the moment that session signed in.
	var window []sessions.HistoryEvent
	for i := len(events) - 1; i >= 0; i-- {
		if !events[i].At.Before(since) {
			window = append(window, events[i])
		}
	}

	// The password.
	pw := templates.ReportStep{ID: "password", Title: "Change or remove your password",
		Link: "/account/security#password", Action: "Change your password"}
	var changed *sessions.HistoryEvent
	for i, e := range window {
		if (e.Kind == "password_set" || e.Kind == "password_remove") && e.DeviceSessionID != rep.ID {
			changed = &window[i]
		}
	}
	switch {
	case !hasPassword:
		pw.Done, pw.State = true, "Your account has no password, so there is none to change."
	case changed != nil && changed.Kind == "password_remove":
		pw.Done, pw.State = true, "You removed your password after that session signed in."
	case changed != nil:
		pw.Done, pw.State = true, "You changed your password after that session signed in."
	default:
		pw.State = "Whoever signed in there may know your password. Change it, or remove it and sign in with passkeys only."
	}

	// Passkeys, the authenticator app and recovery keys added from there.
	cr := templates.ReportStep{ID: "credentials", Title: "Review your passkeys and authenticator app",
		Link: "/account/security", Action: "Review them"}
	list, err := h.Passkeys.List(ctx, d.AccountID)
	if err != nil {
		return nil, err
	}
	totpOn, err := h.TOTP.Enabled(ctx, d.AccountID)
	if err != nil {
		return nil, err
	}
	addedThere := map[string]bool{}
	totpThere, keysThere := false, false
	for _, e := range window {
		there := e.DeviceSessionID == rep.ID
		switch e.Kind {
		case "passkey_added":
			if n, _ := e.Detail["name"].(string); there {
				addedThere[n] = true
			}
		case "totp_added":
			totpThere = there
		case "totp_remove":
			totpThere = false
		case "recovery_generate":
			keysThere = there
		}
	}
	for _, pk := range list {
		if addedThere[pk.Name] && !pk.CreatedAt.Before(since) && !pk.CreatedAt.After(reportedAt) {
			cr.Items = append(cr.Items, "The passkey “"+pk.Name+"” was added from that session. Remove it unless you added it.")
		}
	}
	if totpThere && totpOn {
		cr.Items = append(cr.Items, "An authenticator app was set up from that session. Remove it, then set up your own again.")
	}
	if keysThere {
		cr.Items = append(cr.Items, "New recovery keys were made from that session, so whoever made them has them. Generate new ones.")
	}
	if len(cr.Items) == 0 {
		cr.Done = true
		cr.State = "Nothing was added from that session. " + credentialSummary(len(list), totpOn)
	} else {
		cr.State = "Some of your ways to sign in came from that session."
	}

	// Every other session.
	devices, _, err := h.Sessions.Devices(ctx, d.AccountID, d.ID, 0, -1)
	if err != nil {
		return nil, err
	}
	ss := templates.ReportStep{ID: "sessions", Title: "Sign out of all other sessions"}
	for _, rec := range devices {
		if rec.ID != d.ID {
			p.Others = append(p.Others, h.deviceView(rec, d.ID))
		}
	}
	if len(p.Others) > 10 {
		p.OthersMore, p.Others = len(p.Others)-10, p.Others[:10]
	}
	switch n := len(p.Others) + p.OthersMore; n {
	case 0:
		ss.Done, ss.State = true, "This is the only device signed in to your account now."
	case 1:
		ss.State = "One other session is still signed in:"
	default:
		ss.State = fmt.Sprintf("%d other sessions are still signed in:", n)
	}

	// The activity.
	ac := templates.ReportStep{ID: "activity", Title: "Look at your recent activity",
		Link: "/account/activity", Action: "Open your activity"}
	if h.activitySeenSince(r, reportedAt) {
		ac.Done, ac.State = true, "You opened your activity after reporting that session."
	} else {
		ac.State = "See what happened while that session was signed in, and report anything else you don't recognise."
	}
	return []templates.ReportStep{pw, cr, ss, ac}, nil
}

// credentialSummary says what the account has, for the review step.
func credentialSummary(passkeys int, totp bool) string {
	var s string
	switch passkeys {
	case 0:
		s = "You have no passkey"
	case 1:
		s = "You have 1 passkey"
	default:
		s = fmt.Sprintf("You have %d passkeys", passkeys)
	}
	if totp {
		return s + " and an authenticator app."
	}
	return s + " and no authenticator app."
}
