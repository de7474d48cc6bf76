package templates

import "time"

// DevicePage is /device, where a person signs in a command-line or desktop
// app that showed them a code (OAuth 2.0 Device Authorization Grant, RFC
// 8628): the code form, then what the app asks and where the request came
// from, with Approve and Deny. Without Request it shows the form for the
// code.
type DevicePage struct {
	Base
	UserCode string // the code as typed, refilled after an error ("WDJB-MJHT")
	Error    string // role="alert": "That code is not valid or has expired."
	// Prefilled says a link from another site filled in UserCode: the
	// form asks the person to check it against their device before
	// anything is looked up.
	Prefilled bool
	// Done is the end of the story: "approved" or "denied", with the app's
	// name in AppName.
	Done    string
	AppName string
	Request *DeviceRequestView
}

// DeviceRequestView is a pending device authorization, as the person sees
// it before approving: which app, what it may do, where the request came
// from and where the person is now.
type DeviceRequestView struct {
	UserCode    string   // "WDJB-MJHT": the device shows the same
	AppName     string   // "Codex CLI"
	Permissions []string // scopes in words
	// Where the request came from: the place and address of the device
	// that asked, and the name it reported for itself (its claim only).
	FromPlace, FromIP, FromName string
	// Where the person is now.
	HerePlace, HereIP string
	// PlacesDiffer says the request came from elsewhere than the person:
	// the warning against device-code phishing.
	PlacesDiffer bool
	// StepUp: the account approves only after a passkey step-up, which
	// Approve leads to.
	StepUp    bool
	ExpiresAt time.Time
}

func deviceSamples() pageSamples {
	t := time.Unix(0, 0)
	return Device.samples(
		DevicePage{Base: Base{SignedIn: true, Email: "a@example.com"}, UserCode: "x", Error: "x"},
		DevicePage{Base: Base{SignedIn: true, Email: "a@example.com"}, UserCode: "x", Prefilled: true},
		DevicePage{Base: Base{SignedIn: true, Email: "a@example.com"}, Request: &DeviceRequestView{
			UserCode: "x", AppName: "x", Permissions: []string{"x"}, FromPlace: "x", FromIP: "x", FromName: "x",
			HerePlace: "x", HereIP: "x", PlacesDiffer: true, StepUp: true, ExpiresAt: t}},
		DevicePage{Request: &DeviceRequestView{}},
		DevicePage{Done: "approved", AppName: "x"},
		DevicePage{Done: "denied", AppName: "x"},
	)
}
