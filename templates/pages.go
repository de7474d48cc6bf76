package templates

import "reflect"

// Page is one of latch's pages, written for the view model T: the
// variables below are the only pages there are. A handler fills T and
// renders it with
//
//	h.Pages.Render(w, http.StatusOK, templates.Security.With(p))
//
// so that a page given another page's data is a compile error rather than
// a 500 on someone's request.
type Page[T any] struct{ name string }

// The pages, one for each file in html/ but the layout.
var (
	Login         = Page[LoginPage]{"login"}                  // /login
	SecondFactor  = Page[SecondFactorPage]{"second_factor"}   // /login/verify
	Recover       = Page[RecoverPage]{"recover"}              // /login/recover
	Consent       = Page[ConsentPage]{"consent"}              // an app that is not latch's own asks to sign the person in
	Reauth        = Page[ReauthPage]{"reauth"}                // /account/reauth, the step-up
	Account       = Page[AccountPage]{"account"}              // /account
	Security      = Page[SecurityPage]{"security"}            // /account/security
	Sessions      = Page[SessionsPage]{"sessions"}            // /account/sessions
	Activity      = Page[ActivityPage]{"activity"}            // /account/activity
	ConfirmEnd    = Page[ConfirmEndPage]{"confirm_end"}       // ending sessions, confirmed without script
	Reported      = Page[ReportedPage]{"reported"}            // the checklist after "This wasn't me"
	Apps          = Page[AppsPage]{"apps"}                    // /account/apps, connected apps
	LogoutConfirm = Page[LogoutConfirmPage]{"logout_confirm"} // a logout that cannot prove it came from the person
	LoggedOut     = Page[LoggedOutPage]{"logged_out"}         // after a sign-out with nowhere else to go
	Device        = Page[DevicePage]{"device"}                // /device: sign in a command-line app with its code
	Error         = Page[ErrorPage]{"error"}                  // what went wrong, in words for people
	Unavailable   = Page[UnavailablePage]{"unavailable"}      // the 503 while the database is away
)

// With binds the page to its data, for [Set.Render].
func (p Page[T]) With(data T) View {
	return View{name: p.name, data: data}
}

// View is a page bound to its data by [Page.With]. The zero View is no
// page: rendering it answers 500.
type View struct {
	name string
	data any
}

// pageSamples is a page with the samples Parse renders it with.
type pageSamples struct {
	name    string
	data    reflect.Type
	samples []any
}

// samples pairs the page with sample data, one sample for each branch of
// the page worth reaching; see pages.
func (p Page[T]) samples(first T, more ...T) pageSamples {
	s := pageSamples{name: p.name, data: reflect.TypeFor[T](), samples: []any{first}}
	for _, d := range more {
		s.samples = append(s.samples, d)
	}
	return s
}
