package browsertest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// AuthenticatorOptions describe a virtual authenticator. The zero value is a
// platform authenticator that stores passkeys and verifies the user
// automatically: a phone's or laptop's built-in passkey store with a
// fingerprint that always matches.
type AuthenticatorOptions struct {
	// Transport is how the browser reaches the authenticator. The default,
	// internal, is a platform authenticator; usb is a security key.
	Transport webauthn.AuthenticatorTransport

	// NoResidentKey makes an authenticator that cannot store discoverable
	// credentials, like an old security key: a ceremony with residentKey
	// "required" fails.
	NoResidentKey bool

	// NoUserVerification makes an authenticator without user verification
	// (no PIN, fingerprint or face): a ceremony with userVerification
	// "required" fails, and others report UV=0. In Chromium 156 a get
	// without allowCredentials then finds no credential, even a
	// discoverable one.
	NoUserVerification bool

	// UserVerificationFails makes an authenticator that can verify the user
	// but does not succeed, as with a finger it does not know. SetUserVerified
	// changes this later.
	UserVerificationFails bool

	// BackupEligibility and BackupState set the BE and BS flags of the
	// credentials the authenticator creates; both true is a synced passkey
	// (WebAuthn Level 3 §6.1.3).
	BackupEligibility, BackupState bool
}

// AddAuthenticator adds a virtual CTAP2 authenticator to the tab of ctx and
// returns its id. From then on every WebAuthn ceremony in that tab, and only
// in that tab, goes to the tab's virtual authenticators: no dialog shows and
// tests of user presence pass at once. The authenticator stays across
// navigations and goes away with the tab.
//
// Give a tab one authenticator. With two, a get fails with NotAllowedError
// when one of them lacks the credential, though the other one signs
// (Chromium 156), and a tab takes only one internal authenticator. Model a second
// device with NewContext instead.
//
// Conditional mediation (navigator.credentials.get with mediation
// "conditional") does not wait for the person: with a discoverable
// credential for the RP it resolves at once, with no autocomplete input and
// no focus or click; without one it rejects at once with NotAllowedError,
// and a credential added later does not revive it.
func AddAuthenticator(t testing.TB, ctx context.Context, opts AuthenticatorOptions) webauthn.AuthenticatorID {
	t.Helper()
	enable(t, ctx)
	transport := opts.Transport
	if transport == "" {
		transport = webauthn.AuthenticatorTransportInternal
	}
	res := call(t, ctx, "add a virtual authenticator", webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:            webauthn.AuthenticatorProtocolCtap2,
			Ctap2version:        webauthn.Ctap2versionCtap21,
			Transport:           transport,
			HasResidentKey:      !opts.NoResidentKey,
			HasUserVerification: !opts.NoUserVerification,
			IsUserVerified:      !opts.NoUserVerification && !opts.UserVerificationFails,
			// The protocol says this defaults to true, but the field is sent
			// whatever its value, so false would leave every ceremony
			// waiting for a touch that never comes.
			AutomaticPresenceSimulation: true,
			DefaultBackupEligibility:    opts.BackupEligibility,
			DefaultBackupState:          opts.BackupState,
		},
	})
	return res.AuthenticatorID
}

// enable sends WebAuthn.enable to the tab of ctx, which makes the tab use
// virtual authenticators. Sending it again keeps the tab's authenticators
// and credentials, so it needs no bookkeeping.
func enable(t testing.TB, ctx context.Context) {
	t.Helper()
	call(t, ctx, "enable WebAuthn", webauthn.Enable, webauthn.EnableParams{})
}

// Credential is a passkey to put into a virtual authenticator with
// AddCredential. A test that holds the private key can check the
// signatures a page receives, and can add the same credential again with a
// lower counter or other flags to forge a cloned or changed authenticator.
type Credential struct {
	CredentialID []byte
	RPID         string            // the relying party's domain, such as "localhost"
	PrivateKey   *ecdsa.PrivateKey // must be on P-256 (COSE alg -7)
	UserHandle   []byte            // the user.id from registration; needed if IsResident
	// SignCount is the counter before the next assertion, which reports
	// SignCount+1. -1 makes a credential without a counter, which always
	// reports 0.
	SignCount  int64
	IsResident bool // discoverable: usable without allowCredentials

	BackupEligibility, BackupState bool // the BE and BS flags of assertions
}

// AddCredential puts cred into the virtual authenticator id. To change the
// counter or the backup flags of a credential in place, without its key,
// call webauthn.SetCredentialProperties through chromedp.Call.
func AddCredential(t testing.TB, ctx context.Context, id webauthn.AuthenticatorID, cred Credential) {
	t.Helper()
	if cred.PrivateKey == nil || cred.PrivateKey.Curve != elliptic.P256() {
		t.Fatal("browsertest: AddCredential needs a P-256 private key")
	}
	// The protocol takes the key as PKCS#8 DER.
	der, err := x509.MarshalPKCS8PrivateKey(cred.PrivateKey)
	if err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	call(t, ctx, "add a credential", addCredential, addCredentialParams{
		AuthenticatorID: id,
		Credential: credential{
			CredentialID:         cred.CredentialID,
			IsResidentCredential: cred.IsResident,
			RPID:                 cred.RPID,
			PrivateKey:           der,
			UserHandle:           cred.UserHandle,
			SignCount:            cred.SignCount,
			BackupEligibility:    cred.BackupEligibility,
			BackupState:          cred.BackupState,
		},
	})
}

// addCredential is WebAuthn.addCredential with parameters of our own.
// cdproto's webauthn.Credential always sends generateCmtgKeyOnNextOperation,
// even false, and Chromium 156 then refuses the credential: "CMTG is not
// supported by this authenticator".
var addCredential = cdp.Command[addCredentialParams, cdp.Empty]{Method: webauthn.CommandAddCredential}

type addCredentialParams struct {
	AuthenticatorID webauthn.AuthenticatorID `json:"authenticatorId"`
	Credential      credential               `json:"credential"`
}

// credential is the protocol's WebAuthn.Credential without the CMTG fields.
// []byte goes out as base64, the protocol's binary type.
type credential struct {
	CredentialID         []byte `json:"credentialId"`
	IsResidentCredential bool   `json:"isResidentCredential"`
	RPID                 string `json:"rpId"`
	PrivateKey           []byte `json:"privateKey"` // PKCS#8 DER
	UserHandle           []byte `json:"userHandle,omitempty"`
	SignCount            int64  `json:"signCount"`
	BackupEligibility    bool   `json:"backupEligibility"`
	BackupState          bool   `json:"backupState"`
}

// Credentials returns the credentials in the virtual authenticator id, with
// their private keys (PKCS#8) and current counters.
func Credentials(t testing.TB, ctx context.Context, id webauthn.AuthenticatorID) []*webauthn.Credential {
	t.Helper()
	res := call(t, ctx, "list credentials", webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	return res.Credentials
}

// RemoveCredentials deletes every credential in the virtual authenticator
// id, as when a person deletes their passkeys.
func RemoveCredentials(t testing.TB, ctx context.Context, id webauthn.AuthenticatorID) {
	t.Helper()
	call(t, ctx, "remove credentials", webauthn.ClearCredentials, webauthn.ClearCredentialsParams{AuthenticatorID: id})
}

// SetUserVerified makes user verification in the virtual authenticator id
// succeed or fail from now on.
func SetUserVerified(t testing.TB, ctx context.Context, id webauthn.AuthenticatorID, verified bool) {
	t.Helper()
	call(t, ctx, "set user verification", webauthn.SetUserVerified, webauthn.SetUserVerifiedParams{
		AuthenticatorID: id,
		IsUserVerified:  verified,
	})
}

// RemoveAuthenticator takes the virtual authenticator id out of the tab,
// with its credentials.
func RemoveAuthenticator(t testing.TB, ctx context.Context, id webauthn.AuthenticatorID) {
	t.Helper()
	call(t, ctx, "remove the authenticator", webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: id})
}

// call runs a DevTools command on the tab of ctx with actionTimeout.
func call[P, R any](t testing.TB, ctx context.Context, what string, cmd cdp.Command[P, R], params P) R {
	t.Helper()
	return run(t, ctx, what, func(ctx context.Context, tgt *chromedp.Target) (R, error) {
		return cdp.Call(ctx, tgt, cmd, params)
	})
}

// FromCDP turns a credential read back with Credentials into one that
// AddCredential accepts: the same id, key, user and flags, so a test can
// take a passkey away from an authenticator and give it back (or to
// another) later, with a counter of its choosing.
func FromCDP(t testing.TB, c *webauthn.Credential) Credential {
	t.Helper()
	k, err := x509.ParsePKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatalf("browsertest: credential key: %v", err)
	}
	priv, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("browsertest: credential key is %T, not ECDSA", k)
	}
	return Credential{CredentialID: c.CredentialID, RPID: c.RpID, PrivateKey: priv, UserHandle: c.UserHandle,
		SignCount: int64(c.SignCount), IsResident: c.IsResidentCredential,
		BackupEligibility: c.BackupEligibility, BackupState: c.BackupState}
}
