package account

import (
	"net/http"

	"github.com/latch-idp/latch/internal/web"
	"github.com/latch-idp/latch/sessions"
	"github.com/latch-idp/latch/templates"
)

// account is /account: who is signed in, since when and how.
func (h *Handler) account(w http.ResponseWriter, r *http.Request) {
	web.NoStore(w)
	d, ok := h.device(w, r)
	if !ok {
		return
	}
	if d == nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	if d.Restricted() {
		http.Redirect(w, r, "/account/security", http.StatusSeeOther)
		return
	}
	acct, err := h.Accounts.ByID(r.Context(), d.AccountID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.Pages.Render(w, http.StatusOK, templates.Account.With(templates.AccountPage{
		Base: h.baseFor(w, r, "Your account", acct), Name: acct.Name, SignedInAt: d.CreatedAt,
		Methods: sessions.FactorWords(d.SignInAMR), Device: "",
	}))
}
