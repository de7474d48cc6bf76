package templates

import "time"

// AppsPage is /account/apps, "Connected apps": the apps that are not
// latch's own and hold the person's consent, what each may do, when it was
// allowed and used, where it is signed in, and a "Remove access" button
// that leads to a confirmation (/account/apps/{client_id}/remove) whose
// form posts the removal.
type AppsPage struct {
	Base
	Name  string // the account's display name, for the page head
	Flash string // role="status", e.g. "Outsider no longer has access to your account."
	Error string // role="alert"
	Apps  []ConnectedAppView
	// Confirm is the app whose removal the person is asked to confirm, on
	// /account/apps/{client_id}/remove; nil on the plain page.
	Confirm *ConnectedAppView
}

// ConnectedAppView is one connected app.
type ConnectedAppView struct {
	ClientID    string   // used in the removal's URL
	Name        string   // "Outsider"
	Permissions []string // the consent page's words: "See your email address", ...
	GrantedAt   time.Time
	WidenedAt   time.Time // zero: never allowed more since the first grant
	LastUsedAt  time.Time // zero: no use in the last 30 days
	Devices     []AppDeviceView
}

// AppDeviceView is a device a connected app is signed in on.
type AppDeviceView struct {
	Name         string // "Chrome on macOS"
	Kind         string // picks the icon, as DeviceView.Kind
	Location     string // "London, England, United Kingdom" or "Unknown location"
	Current      bool   // the device the page is shown on
	LastActiveAt time.Time
}

// appsSamples are the connected apps page's samples for Parse: a
// confirmation with devices, one without, and no apps.
func appsSamples() pageSamples {
	t := time.Unix(0, 0)
	app := ConnectedAppView{ClientID: "x", Name: "x", Permissions: []string{"x", "y"}, GrantedAt: t, WidenedAt: t, LastUsedAt: t,
		Devices: []AppDeviceView{{Name: "x", Kind: "desktop", Location: "x", Current: true, LastActiveAt: t}, {Name: "x", Kind: "phone"}}}
	return Apps.samples(
		AppsPage{Base: Base{SignedIn: true, Email: "a@example.com"}, Name: "A", Flash: "x", Error: "x",
			Apps: []ConnectedAppView{app, {ClientID: "y", Name: "y", GrantedAt: t}}, Confirm: &app},
		AppsPage{Apps: []ConnectedAppView{{ClientID: "y", Name: "y", GrantedAt: t}}, Confirm: &ConnectedAppView{ClientID: "y", Name: "y"}},
		AppsPage{},
	)
}
