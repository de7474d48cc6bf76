package seed

import (
	"crypto/ecdh"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/latch-idp/latch/sessions"
)

// userAgents are the browsers seeded device sessions come from. Their
// names and kinds are worked out by latch's own DescribeUserAgent, as at a
// real sign-in.
var userAgents = []string{
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
	"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
	"Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.7 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
}

// places are what latch's GeoIP look-up makes of an address ("" when it
// knows none).
var places = []string{
	"London, England, United Kingdom",
	"Manchester, England, United Kingdom",
	"San Francisco, California, United States",
	"New York, United States",
	"Seattle, Washington, United States",
	"Berlin, Germany",
	"Paris, Île-de-France, France",
	"Amsterdam, North Holland, Netherlands",
	"Toronto, Ontario, Canada",
	"Tokyo, Japan",
	"Bengaluru, Karnataka, India",
	"São Paulo, Brazil",
	"Sydney, New South Wales, Australia",
	"Dublin, Leinster, Ireland",
	"",
}

var firstNames = []string{
	"Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Margaret", "Dennis", "Frances", "Ken",
	"Radia", "Tim", "Hedy", "John", "Katherine", "Linus", "Sophie", "Niklaus", "Shafi", "Leslie",
	"Amara", "Mateo", "Yuki", "Priya", "Oluwaseun", "Ingrid", "Chen", "Fatima", "Lars", "Zoë",
}

var lastNames = []string{
	"Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Ritchie", "Allen", "Thompson",
	"Perlman", "Berners-Lee", "Lamarr", "McCarthy", "Johnson", "Torvalds", "Wilson", "Wirth", "Goldwasser", "Lamport",
	"Okafor", "García", "Tanaka", "Sharma", "Adeyemi", "Larsen", "Wang", "Haddad", "Nilsson", "O'Brien",
}

// clients are the apps seeded sessions are signed in to, with their
// back-channel logout URIs (as in idp/clients.default.yaml).
var clients = []struct{ id, logoutURI, redirectURI string }{
	{"chatgpt-web", "http://localhost:9001/backchannel-logout", "http://localhost:9001/callback"},
	{"codex-web", "http://localhost:9002/backchannel-logout", "http://localhost:9002/callback"},
}

// consentClient is the app that is not one of latch's own, which some
// seeded accounts have allowed.
const consentClient = "partner-notes"

// The agent some seeded accounts started from ChatGPT (token exchange), as
// in idp/clients.default.yaml: its client id, the names the history
// records for it and for the app that started it, and its refresh
// allowance (refresh_for), which is how long after its last renewal its
// tokens can live.
const (
	agentClient      = "codex-task-runner"
	agentName        = "Codex task runner"
	agentStarter     = "chatgpt-web"
	agentStarterName = "ChatGPT"
	agentRefreshFor  = "1 hour"
)

// The command-line app seeded device authorizations are for, and the
// device_name it is registered with (the first part of its sessions'
// names).
const (
	deviceClient  = "codex-cli"
	deviceAppName = "Codex CLI"
)

// cliProfiles are the machines seeded device authorizations come from:
// the name the device reported for itself (its device_name hint, "" for
// none) and its User-Agent.
var cliProfiles = []struct{ hint, ua string }{
	{"ada-laptop", "codex_cli_rs/0.46.0 (Mac OS X 15.6.1; arm64) iTerm.app/3.5.14"},
	{"build-box", "codex_cli_rs/0.46.0 (Linux 6.8.0-79-generic; x86_64) xterm-256color"},
	{"", "codex_cli_rs/0.45.0 (Windows 10.0.26100; x86_64) WindowsTerminal"},
	{"MacBook-Pro", "codex_cli_rs/0.46.0 (Mac OS X 14.7.2; arm64) Apple_Terminal/455"},
	{"devbox", "codex_cli_rs/0.44.0 (Linux 6.1.0-37-cloud-amd64; x86_64) tmux/3.3a"},
	{"", "codex_cli_rs/0.46.0 (Linux 5.15.167.4-microsoft-standard-WSL2; x86_64) vscode/1.104.0"},
}

// cliNames returns latch's name for the session an approval of each of
// cliProfiles signs in, as the /device page names it.
func cliNames() []string {
	var names []string
	for _, p := range cliProfiles {
		names = append(names, sessions.DescribeCLI(deviceAppName, sessions.CleanHint(p.hint), p.ua))
	}
	return names
}

// passkeyProfile is a kind of authenticator a seeded passkey lives in.
// Profiles 1 to 3 (counting from 1, as SQL arrays do) are synced.
type passkeyProfile struct {
	name       string
	aaguid     string
	synced     bool
	transports []protocol.AuthenticatorTransport
	attachment protocol.AuthenticatorAttachment
}

var passkeyProfiles = []passkeyProfile{
	{"iCloud Keychain", "fbfc3007-154e-4ecc-8c0b-6e020557d7bd", true,
		[]protocol.AuthenticatorTransport{protocol.Internal, protocol.Hybrid}, protocol.Platform},
	{"Google Password Manager", "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4", true,
		[]protocol.AuthenticatorTransport{protocol.Internal, protocol.Hybrid}, protocol.Platform},
	{"1Password", "bada5566-a7aa-401f-bd96-45619a55120d", true,
		[]protocol.AuthenticatorTransport{protocol.Internal, protocol.Hybrid}, protocol.Platform},
	{"YubiKey 5 Series", "cb69481e-8ff7-4039-93ec-0a2729a154a8", false,
		[]protocol.AuthenticatorTransport{protocol.USB, protocol.NFC}, protocol.CrossPlatform},
	{"Windows Hello", "08987058-cadc-4b81-b6e1-30de50dcbe96", false,
		[]protocol.AuthenticatorTransport{protocol.Internal}, protocol.Platform},
}

// syncedProfiles is how many of passkeyProfiles, from the first, are synced.
const syncedProfiles = 3

// yubiKeyProfile is the SQL (1-based) index of the hardware key profile.
const yubiKeyProfile = 4

// credentialJSON returns the credential record latch keeps for a passkey of
// profile p, as go-webauthn marshals it after a registration, without its
// id (the seeding statement sets that per row). Every seeded passkey shares
// one public key, whose private half nobody keeps: seeded passkeys are
// listed, never used.
func credentialJSON(p passkeyProfile, publicKey []byte) (string, error) {
	aaguid, err := hex.DecodeString(strings.ReplaceAll(p.aaguid, "-", ""))
	if err != nil || len(aaguid) != 16 {
		return "", fmt.Errorf("bad AAGUID %q", p.aaguid)
	}
	clientData := []byte(`{"type":"webauthn.create","challenge":"c2VlZC1jaGFsbGVuZ2Utbm90LWEtcmVhbC1vbmUtMzJieXRlcw","origin":"https://latch.example","crossOrigin":false}`)
	clientHash := sha256.Sum256(clientData)
	// Authenticator data: rpIdHash, flags, counter, AAGUID, id length, a
	// 32-byte credential id and the COSE key.
	authData := make([]byte, 0, 37+16+2+32+len(publicKey))
	rpHash := sha256.Sum256([]byte("latch.example"))
	flags := byte(0x45) // UP, UV, AT
	if p.synced {
		flags |= 0x18 // BE, BS
	}
	authData = append(authData, rpHash[:]...)
	authData = append(authData, flags, 0, 0, 0, 0)
	authData = append(authData, aaguid[:]...)
	authData = append(authData, 0, 32)
	authData = append(authData, make([]byte, 32)...)
	authData = append(authData, publicKey...)
	// A "none" attestation object: {"fmt": "none", "attStmt": {}, "authData": ...}.
	object := append([]byte{0xa3, 0x63, 'f', 'm', 't', 0x64, 'n', 'o', 'n', 'e', 0x67, 'a', 't', 't', 'S', 't', 'm', 't', 0xa0,
		0x68, 'a', 'u', 't', 'h', 'D', 'a', 't', 'a', 0x58, byte(len(authData))}, authData...)
	cred := webauthn.Credential{
		PublicKey:         publicKey,
		AttestationType:   "none",
		AttestationFormat: "none",
		Transport:         p.transports,
		Flags:             webauthn.CredentialFlags{UserPresent: true, UserVerified: true, BackupEligible: p.synced, BackupState: p.synced},
		Authenticator:     webauthn.Authenticator{AAGUID: aaguid[:], Attachment: p.attachment},
		Attestation: webauthn.CredentialAttestation{
			ClientDataJSON: clientData, ClientDataHash: clientHash[:], AuthenticatorData: authData,
			PublicKeyAlgorithm: -7, Object: object,
		},
	}
	b, err := json.Marshal(cred)
	return string(b), err
}

// coseKey returns a fresh P-256 public key in COSE form (EC2, ES256), as an
// authenticator reports it.
func coseKey() ([]byte, error) {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	pub := k.PublicKey().Bytes() // 0x04 || x || y
	if len(pub) != 65 {
		return nil, fmt.Errorf("unexpected P-256 public key length %d", len(pub))
	}
	out := []byte{0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20}
	out = append(out, pub[1:33]...)
	out = append(out, 0x22, 0x58, 0x20)
	return append(out, pub[33:]...), nil
}

// deviceNames returns latch's name and kind for each of userAgents.
func deviceNames() (names, kinds []string) {
	for _, ua := range userAgents {
		d := sessions.DescribeUserAgent(ua)
		names = append(names, d.Name)
		kinds = append(kinds, string(d.Kind))
	}
	return names, kinds
}
