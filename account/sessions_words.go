package account

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/latch-idp/latch/internal/web"
	"github.com/latch-idp/latch/sessions"
	"github.com/latch-idp/latch/templates"
)

// What the sessions page says after each of its forms. Every outcome is
// one sentence of the same shape, naming what changed: "Signed out of
// Firefox on Linux and Safari on iPhone." The form's answer carries a
// note, never counts or words in the URL: a short-lived sealed cookie
// holds its code and the session ids it names, and the page resolves the
// names from the account's own sessions when it shows it, once.

// note is what the page's next view says about the form just posted.
type note struct {
	Code string `json:"c"`
	// IDs are the device sessions it names (at most noteIDs of them), More
	// how many more it stands for.
	IDs  []string `json:"i,omitempty"`
	More int      `json:"m,omitempty"`
	// Client is the app signed out, for noteApp.
	Client string `json:"a,omitempty"`
}

// The notes' codes.
const (
	noteEnded       = "ended"       // sessions ended: IDs
	noteNoneLeft    = "none_left"   // "sign out all other sessions" found none
	noteNoneTicked  = "none_ticked" // "end selected" with nothing ticked (no script)
	noteApp         = "app"         // Client signed out on device IDs[0]
	noteUntrusted   = "untrusted"   // device IDs[0] no longer trusted
	noteRenamed     = "renamed"     // device IDs[0] renamed
	noteNameCleared = "unnamed"     // device IDs[0]'s name taken away
	noteNameRefused = "name_bad"    // a name too long, or not text
	noteGone        = "gone"        // the session had ended already
)

// noteIDs bounds the ids a note carries, so that the cookie stays small
// after a thousand sessions ended at once.
const noteIDs = 8

// noteLife is how long a note waits for the page that shows it.
const noteLife = time.Minute

func endedNote(ids []string) note {
	n := note{Code: noteEnded, IDs: ids}
	if len(ids) > noteIDs {
		n.IDs, n.More = ids[:noteIDs], len(ids)-noteIDs
	}
	return n
}

// backWith leaves the note for the next view and sends the browser back to
// the page the form came from: the sessions page, or the checklist after a
// report (the form's "back").
func (h *Handler) backWith(w http.ResponseWriter, r *http.Request, n note) {
	if s, err := h.Reveal.Encode(h.Cookies.Name(web.CookieNote), n); err == nil {
		h.Cookies.Set(w, web.CookieNote, s, noteLife)
	}
	to := "/account/sessions"
	if b := r.PostFormValue("back"); reportedPath(b) {
		to = b
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// reportedPath reports whether p is the path of a checklist after a report.
func reportedPath(p string) bool {
	id, ok := strings.CutPrefix(p, "/account/sessions/")
	if !ok {
		return false
	}
	id, ok = strings.CutSuffix(id, "/reported")
	return ok && sessions.IsID(id)
}

// takeNote reads the note left for this view and clears it.
func (h *Handler) takeNote(w http.ResponseWriter, r *http.Request) *note {
	s, ok := h.Cookies.Read(r, web.CookieNote)
	if !ok {
		return nil
	}
	h.Cookies.Clear(w, web.CookieNote)
	var n note
	if err := h.Reveal.Decode(h.Cookies.Name(web.CookieNote), s, &n); err != nil {
		return nil
	}
	return &n
}

// noteWords puts note n into p's flash or error, naming the sessions it
// names as the account's own sessions name them now.
func (h *Handler) noteWords(ctx context.Context, d *sessions.Device, n note, p *templates.SessionsPage) error {
	names, err := h.Sessions.Named(ctx, d.AccountID, n.IDs)
	if err != nil {
		return err
	}
	var list []string
	for _, id := range n.IDs {
		if s, ok := names[id]; ok {
			list = append(list, named(s.CustomName, s.Name))
		}
	}
	first := "that device"
	if len(list) > 0 {
		first = list[0]
	}
	switch n.Code {
	case noteEnded:
		p.Flash = "Signed out of " + joinNames(list, n.More+len(n.IDs)-len(list)) + "."
	case noteNoneLeft:
		p.Flash = "There were no other sessions to sign out of."
	case noteNoneTicked:
		p.Error = "Tick the sessions you want to end first."
	case noteApp:
		app := h.AppName(n.Client)
		if len(n.IDs) > 0 && n.IDs[0] == d.ID {
			p.Flash = app + " is signed out on this device, but this browser is still signed in to latch and can open " +
				app + " again. Sign out here to stop it."
			break
		}
		p.Flash = app + " on " + first + " is signed out, but that device is still signed in to latch and can open " +
			app + " again. End the whole session to stop it."
		if s, ok := names[firstID(n.IDs)]; ok && s.EndedAt == nil {
			p.FlashEnd = &templates.DeviceView{ID: s.ID, Name: first}
		} else if ok {
			// Ended meanwhile: nothing is left to end.
			p.Flash = app + " on " + first + " is signed out, and that session has ended since."
		}
	case noteUntrusted:
		p.Flash = capitalize(first) + " is no longer trusted. It will ask for your second factor at its next sign-in."
	case noteRenamed:
		if s, ok := names[firstID(n.IDs)]; ok {
			p.Flash = "Renamed " + named("", s.Name) + " to “" + s.CustomName + "”."
		}
	case noteNameCleared:
		p.Flash = capitalize(first) + " shows under latch's name for it again."
	case noteNameRefused:
		p.Error = fmt.Sprintf("A device name is at most %d characters of text. Try a shorter one.", sessions.MaxCustomNameRunes)
	case noteGone:
		p.Error = "That session had already ended."
	default:
		agentNoteWords(n, p)
	}
	return nil
}

func firstID(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
}

// named is how a device session is called to its owner: the name they gave
// it, else latch's, else "Unknown device".
func named(custom, detected string) string {
	switch {
	case custom != "":
		return custom
	case detected != "":
		return detected
	}
	return "Unknown device"
}

// joinNames lists device names for a sentence: "Firefox on Linux and
// Safari on iPhone"; two of one name read "Firefox on Linux (2 sessions)";
// more sessions than named end with "and 3 other sessions".
func joinNames(names []string, unnamed int) string {
	var order []string
	count := map[string]int{}
	for _, n := range names {
		if count[n] == 0 {
			order = append(order, n)
		}
		count[n]++
	}
	var parts []string
	for _, n := range order {
		if count[n] > 1 {
			n = fmt.Sprintf("%s (%d sessions)", n, count[n])
		}
		parts = append(parts, n)
	}
	switch {
	case unnamed == 1 && len(parts) > 0:
		parts = append(parts, "1 other session")
	case unnamed == 1:
		parts = append(parts, "1 session")
	case unnamed > 1 && len(parts) > 0:
		parts = append(parts, fmt.Sprintf("%d other sessions", unnamed))
	case unnamed > 1:
		parts = append(parts, fmt.Sprintf("%d sessions", unnamed))
	}
	switch len(parts) {
	case 0:
		return "no session"
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// endReason is the recently ended list's words for why a session ended,
// naming the device it was ended from when the person did it from one.
func endReason(reason sessions.EndReason, by sessions.NamedSession) string {
	from := ""
	if by.Name != "" || by.CustomName != "" {
		from = named(by.CustomName, by.Name)
	}
	switch {
	case reason == sessions.ReasonEndedElsewhere && from != "":
		return "Ended from " + from
	case reason == sessions.ReasonNotMe && from != "":
		return "Reported as not you from " + from
	}
	if words := reasons[reason]; words != "" {
		return words
	}
	return "Ended"
}
