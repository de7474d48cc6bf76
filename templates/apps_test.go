package templates

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAppsPage renders the connected apps page: each app with what it may
// do, its dates, its devices and a link to the confirmation; the
// confirmation's one form posts the removal with the CSRF token; with no
// app, a sentence and no form.
func TestAppsPage(t *testing.T) {
	s := parse(t)
	s.Now = func() time.Time { return now }
	base := Base{Title: "Connected apps", CSRFToken: csrf, SignedIn: true, Email: "ada@example.com"}
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 10, 0, 0, 0, time.UTC) }
	partner := ConnectedAppView{ClientID: "partner", Name: "Partner Notes",
		Permissions: []string{"Know who you are on latch", "See your email address"},
		GrantedAt:   day(3, 14), WidenedAt: day(11, 20), LastUsedAt: now.Add(-4 * time.Minute),
		Devices: []AppDeviceView{
			{Name: "Chrome on macOS", Kind: "desktop", Location: "London, England, United Kingdom", Current: true, LastActiveAt: now.Add(-4 * time.Minute)},
			{Name: "Safari on iPhone", Kind: "phone", Location: "Unknown location"},
		}}
	idle := ConnectedAppView{ClientID: "idle", Name: "Idle App", GrantedAt: day(1, 2)}
	tests := []struct {
		name    string
		data    AppsPage
		want    []string
		notWant []string
	}{
		{
			name: "two apps",
			data: AppsPage{Base: base, Name: "Ada Lovelace", Flash: "Other App no longer has access to your account.", Apps: []ConnectedAppView{partner, idle}},
			want: []string{
				`<title>Connected apps · latch</title>`,
				`<a href="/account/apps" aria-current="page">Connected apps</a>`,
				`<p>Other App no longer has access to your account.</p>`,
				`<span class="state state-on">2 apps</span>`,
				`<li class="item connected-app" data-client="partner">`,
				`<span>Partner Notes</span>`,
				`Allowed <time datetime="2026-03-14T10:00:00Z" data-when="date" title="14 March 2026, 10:00 UTC">14 Mar 2026</time>`,
				`Allowed more <time datetime="2026-11-20T10:00:00Z" data-when="date"`,
				`Last used <time datetime="2026-11-27T14:56:00Z" data-when="recent" title="27 November 2026, 14:56 UTC">4 minutes ago</time>`,
				`<li><svg`, `<span>See your email address</span>`,
				`<p class="connected-device-name"><span>Chrome on macOS</span><span class="tag tag-current">This device</span></p>`,
				`<span class="place">London, England, United Kingdom</span>`,
				`<span>Safari on iPhone</span></p>`,
				`<a class="button button-small button-danger item-remove" href="/account/apps/partner/remove">Remove access<span class="visually-hidden"> for Partner Notes</span></a>`,
				`<span>Not used in the last 30 days</span>`,
				`<p class="item-meta">Not signed in on any device right now.</p>`,
			},
			notWant: []string{`<form method="post" action="/account/apps/partner/remove">`, `data-confirm-remove`, `role="alert"`},
		},
		{
			name: "confirming a removal",
			data: AppsPage{Base: base, Apps: []ConnectedAppView{partner}, Confirm: &partner},
			want: []string{
				`<h2 id="confirm-heading">Remove Partner Notes's access?</h2>`,
				`Partner Notes will be signed out on 2 devices at once`,
				`<form method="post" action="/account/apps/partner/remove">`,
				`<button type="submit" class="button button-danger" data-confirm-remove>Remove access<span class="visually-hidden"> for Partner Notes</span></button>`,
				`<a class="button button-secondary" href="/account/apps">Cancel</a>`,
			},
		},
		{
			name:    "no apps",
			data:    AppsPage{Base: base, Error: "That app no longer has access to your account."},
			want:    []string{`No connected apps.`, `<span class="state">None</span>`, `role="alert"`},
			notWant: []string{`class="items connected-apps"`, `method="post" action="/account/apps`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := render(t, s, http.StatusOK, "apps", tt.data)
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d, body:\n%s", rec.Code, rec.Body)
			}
			body := rec.Body.String()
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("missing %q in:\n%s", w, body)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(body, w) {
					t.Errorf("unexpected %q", w)
				}
			}
			checkCommon(t, body)
		})
	}
}
