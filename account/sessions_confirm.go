package account

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/latch-idp/latch/sessions"
	"github.com/latch-idp/latch/templates"
)

// confirmEnd answers "End selected sessions" (ids) or "Sign out all other
// sessions" (ids nil) posted without confirm=1: the page's dialog asks
// before ending, and where it could not (no script), this page does,
// naming every device that would end. Nothing has ended yet.
func (h *Handler) confirmEnd(w http.ResponseWriter, r *http.Request, d *sessions.Device, ids []string) {
	ctx := r.Context()
	devices, _, err := h.Sessions.Devices(ctx, d.AccountID, d.ID, 0, -1)
	if err != nil {
		h.failSessions(w, r, err)
		return
	}
	base, _, err := h.sessionsBase(w, r, "Confirm", d)
	if err != nil {
		h.failSessions(w, r, err)
		return
	}
	p := templates.ConfirmEndPage{Base: base, Action: "/account/sessions/end-others"}
	var list []templates.DeviceView
	for _, rec := range devices {
		if rec.ID == d.ID && ids == nil {
			continue
		}
		if ids != nil && !slices.Contains(ids, rec.ID) {
			continue
		}
		list = append(list, h.deviceView(rec, d.ID))
	}
	if ids != nil {
		if len(list) != len(ids) {
			// One of them ended meanwhile, or was never this account's.
			h.backWith(w, r, note{Code: noteGone})
			return
		}
		p.Action, p.IDs = "/account/sessions/end", ids
		p.Heading, p.Button = "End these sessions?", "End these sessions"
		if len(list) == 1 {
			p.Heading, p.Button = "End this session?", "End session"
		}
	} else {
		if len(list) == 0 {
			h.backWith(w, r, note{Code: noteNoneLeft})
			return
		}
		p.Heading, p.Button = "Sign out of all other sessions?", "Sign out of all other sessions"
	}
	const shown = 50
	if len(list) > shown {
		p.More, list = len(list)-shown, list[:shown]
	}
	p.Devices = list
	p.Base.Title = p.Heading
	if p.More > 0 {
		p.Button = fmt.Sprintf("Sign out of all %d other sessions", len(list)+p.More)
	}
	h.Pages.Render(w, http.StatusOK, templates.ConfirmEnd.With(p))
}
