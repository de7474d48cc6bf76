package templates

import (
	"net/http"
	"time"
)

// pages lists every page with sample data, one sample for each branch worth
// reaching. Parse executes each page with every sample so that a misspelt
// field, which html/template only notices when it executes the branch that
// holds it, fails start-up instead of a person's request. A page missing
// here cannot be rendered at all.
func pages() []pageSamples {
	t := time.Unix(0, 0)
	return []pageSamples{
		deviceSamples(),
		Login.samples(
			LoginPage{Error: "x", Notice: "x", Reauth: true, Email: "x", AuthRequestID: "x"},
			LoginPage{AppName: "x", PasskeyOnly: true},
		),
		SecondFactor.samples(
			SecondFactorPage{AppName: "x", Email: "x", Error: "x"},
			SecondFactorPage{UseRecovery: true, AppName: "x", Error: "x", CanTrust: true},
			SecondFactorPage{CanTrust: true},
		),
		Recover.samples(RecoverPage{AuthRequestID: "x", Email: "x", Error: "x"}),
		Reauth.samples(
			ReauthPage{Base: Base{Email: "x"}, Description: "x", HasPassword: true, HasTOTP: true, HasPasskey: true, Error: "x"},
			ReauthPage{HasPasskey: true, PasskeyOnly: true},
		),
		Security.samples(
			SecurityPage{
				Base:       Base{SignedIn: true, Email: "a@example.com"},
				Name:       "A",
				Flash:      "x",
				Error:      "x",
				Restricted: true,
				Passkeys: []PasskeyView{
					{ID: "x", Name: "x", CreatedAt: t, LastUsedAt: &t, Synced: true, Authenticator: "x"},
					{ID: "y", CreatedAt: t},
				},
				TOTPSetup:        &TOTPSetupView{QRDataURL: "data:image/png;base64,", Secret: "x", Error: "x"},
				Recovery:         RecoveryView{HasSet: true, Total: 10, Remaining: 2, CreatedAt: t},
				NewRecoveryKeys:  []string{"x"},
				RecoveryDownload: "data:text/plain;base64,",
				HasPassword:      true,
			},
			SecurityPage{TOTPEnabled: true, HasPassword: true, CanRemovePassword: true,
				Recovery: RecoveryView{HasSet: true, Total: 10, Remaining: 0}},
			SecurityPage{},
			// Advanced security: off with nothing met, off with some met and
			// keys waiting to be typed back, off and ready, and on (also in a
			// recovery session, which hides the way out).
			SecurityPage{Advanced: AdvancedView{Error: "x"}},
			SecurityPage{Passkeys: []PasskeyView{{ID: "x", CreatedAt: t}}, NewRecoveryKeys: []string{"x"}, NewRecoveryForAdvanced: true,
				Advanced: AdvancedView{PasskeyStepUp: true, TwoPasskeys: true, RecoveryPending: true, Error: "x"}},
			SecurityPage{Advanced: AdvancedView{PasskeyStepUp: true, TwoPasskeys: true, SyncedPasskey: true, RecoverySaved: true, Ready: true}},
			SecurityPage{TOTPEnabled: true, TOTPSetup: &TOTPSetupView{}, HasPassword: true, CanRemovePassword: true,
				Advanced: AdvancedView{On: true, Since: t, Error: "x"}},
			SecurityPage{Restricted: true, Advanced: AdvancedView{On: true}},
			// A suspended passkey: beside another passkey and a password with
			// an authenticator app, and as the account's only way in.
			SecurityPage{HasPassword: true, TOTPEnabled: true, UsablePasskey: true,
				Passkeys: []PasskeyView{{ID: "x", Name: "x", CreatedAt: t, Suspended: true}, {ID: "y", CreatedAt: t}},
				Advanced: AdvancedView{SuspendedPasskey: true}},
			SecurityPage{Passkeys: []PasskeyView{{ID: "x", CreatedAt: t, Suspended: true}}},
		),
		LogoutConfirm.samples(LogoutConfirmPage{AppName: "x"}),
		LoggedOut.samples(LoggedOutPage{}),
		Consent.samples(ConsentPage{AppName: "x", AuthRequestID: "x", Permissions: []string{"x"}}),
		Error.samples(ErrorPage{Status: http.StatusBadRequest}),
		Unavailable.samples(UnavailablePage{Retry: "/account"}, UnavailablePage{}),
		Account.samples(AccountPage{
			Base:       Base{SignedIn: true, Email: "a@example.com"},
			Name:       "A",
			SignedInAt: t,
			Methods:    []string{"Password"},
			Device:     "x",
		}),
		Sessions.samples(
			SessionsPage{
				Base:  Base{SignedIn: true, Email: "a@example.com"},
				Name:  "A",
				Flash: "x",
				Error: "x",
				Total: 120, NextPage: "/account/sessions?page=3", PrevPage: "/account/sessions?page=1",
				FlashEnd: &DeviceView{ID: "b", Name: "x"},
				Devices: []DeviceView{
					{ID: "a", Name: "x", Kind: "desktop", Location: "x", SignedInAt: t, LastActiveAt: t, Method: "x", Trusted: true, Current: true,
						ConfirmedWith: "x", ConfirmedAt: t, Apps: []AppView{{ID: "a", Name: "x", SignedInAt: t, LastActiveAt: t}}},
					{ID: "b", Name: "x", Detected: "x", CustomName: "x", Kind: "phone", Location: "x", SignedInAt: t, LastActiveAt: t, Method: "x", Trusted: true,
						Apps: []AppView{{ID: "b", Name: "x", SignedInAt: t}, {ID: "c", Name: "y"}}},
					{ID: "c", Kind: "tablet"},
					{ID: "d", Kind: "app", SessionKind: "cli", ApprovedOn: "x", Method: "x"},
					{ID: "f", Kind: "app", SessionKind: "native"},
					{ID: "e", Kind: "unknown"},
				},
				Ended: []EndedView{
					{Name: "x", Kind: "desktop", Location: "x", EndedAt: t, Reason: "x", Apps: []EndedAppView{
						{Name: "x", Delivery: "delivered"}, {Name: "x", Delivery: "pending"},
						{Name: "x", Delivery: "pending", Attempts: 2, NextTry: t}, {Name: "x", Delivery: "pending", Attempts: 1},
						{Name: "x", Delivery: "failed", Attempts: 1}, {Name: "x", Delivery: "failed", Attempts: 14}, {Name: "x"},
						{Name: "x", Agent: true, Delivery: "delivered"},
					}},
					{Kind: "phone"}, {Kind: "tablet"}, {Kind: "app"}, {},
				},
			},
			SessionsPage{Devices: []DeviceView{{ID: "a", Current: true}}},
			SessionsPage{Devices: []DeviceView{{ID: "a"}}},
			SessionsPage{},
			// Agents: several (with "Stop all agents"), one, and under the
			// device they were started from.
			SessionsPage{
				Devices: []DeviceView{{ID: "a", Current: true, Agents: []AgentView{{ID: "g", Name: "x", StartedBy: "x", StartedAt: t}}}},
				Agents: []AgentView{
					{ID: "g", Name: "x", StartedBy: "x", Device: "x", From: "x", DeviceKind: "desktop", Location: "x", ThisDevice: true,
						May: "x", Note: "x", StartedAt: t, LastActedAt: t},
					{ID: "h", StartedAt: t},
				},
			},
			SessionsPage{Agents: []AgentView{{ID: "g"}}},
		),
		ConfirmEnd.samples(
			ConfirmEndPage{Heading: "x", Action: "/account/sessions/end", IDs: []string{"a"}, Button: "x", More: 2,
				Devices: []DeviceView{{ID: "a", Name: "x", Detected: "x", Location: "x", SignedInAt: t, Apps: []AppView{{Name: "x"}, {Name: "y"}}}, {ID: "b"}}},
			ConfirmEndPage{More: 1},
		),
		Reported.samples(
			ReportedPage{
				Base: Base{SignedIn: true, Email: "a@example.com"}, Name: "A", Flash: "x", Back: "/account/sessions/a/reported",
				Device: DeviceView{Name: "x", Detected: "x", Location: "x", SignedInAt: t},
				Steps: []ReportStep{
					{ID: "password", Title: "x", Done: true, State: "x", Link: "/account/security", Action: "x"},
					{ID: "credentials", Title: "x", State: "x", Items: []string{"x"}, Link: "/account/security", Action: "x"},
					{ID: "sessions", Title: "x", State: "x"},
					{ID: "activity", Title: "x", State: "x", Link: "/account/activity", Action: "x"},
				},
				Others:     []DeviceView{{Name: "x", Location: "x", SignedInAt: t}, {}},
				OthersMore: 3,
			},
			ReportedPage{Steps: []ReportStep{{ID: "sessions", Done: true}}, Others: []DeviceView{{}}},
			ReportedPage{},
		),
		Activity.samples(
			ActivityPage{
				Base: Base{SignedIn: true, Email: "a@example.com"},
				Name: "A",
				Events: []EventView{
					{At: t, Kind: "signin", Title: "x", Detail: "x", Device: "x", Location: "x", IP: "x"},
					{At: t, Kind: "new_device", Title: "x"},
					{At: t, Kind: "ended", Title: "x"},
					{At: t, Kind: "credential", Title: "x"},
					{At: t, Kind: "recovery", Title: "x"},
					{At: t, Kind: "lock", Title: "x"},
					{At: t, Kind: "app", Title: "x", Detail: "x"},
					{At: t, Kind: "other", Title: "x"},
				},
			},
			ActivityPage{},
		),
		appsSamples(),
	}
}
