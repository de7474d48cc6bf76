package authn

import "strings"

// authenticatorNames maps AAGUIDs of common passkey providers to the names
// people know them by (from the passkey-authenticator-aaguids community
// list). Unknown models show no name rather than a guess.
var authenticatorNames = map[string]string{
	"fbfc3007-154e-4ecc-8c0b-6e020557d7bd": "iCloud Keychain",
	"dd4ec289-e01d-41c9-bb89-70fa845d4bf2": "iCloud Keychain (Managed)",
	"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": "Google Password Manager",
	"adce0002-35bc-c60a-648b-0b25f1f05503": "Chrome on Mac",
	"08987058-cadc-4b81-b6e1-30de50dcbe96": "Windows Hello",
	"9ddd1817-af5a-4672-a2b9-3e3dd95000a9": "Windows Hello",
	"6028b017-b1d4-4c02-b4b3-afcdafc96bb2": "Windows Hello",
	"bada5566-a7aa-401f-bd96-45619a55120d": "1Password",
	"d548826e-79b4-db40-a3d8-11116f7e8349": "Bitwarden",
	"53414d53-554e-4700-0000-000000000000": "Samsung Pass",
	"b84e4048-15dc-4dd0-8640-f4f60813c8af": "NordPass",
	"531126d6-e717-415c-9320-3d9aa6981239": "Dashlane",
	"cb69481e-8ff7-4039-93ec-0a2729a154a8": "YubiKey 5 Series",
	"ee882879-721c-4913-9775-3dfcce97072a": "YubiKey 5 Series",
	"fa2b99dc-9e39-4257-8f92-4a30d23c4118": "YubiKey 5 Series with NFC",
	"2fc0579f-8113-47ea-b116-bb5a8db9202a": "YubiKey 5 Series with NFC",
	"c5ef55ff-ad9a-4b9f-b580-adebafe026d0": "YubiKey 5Ci",
	"a4e9fc6d-4cbe-4758-b8ba-37598bb5bbaa": "Security Key by Yubico with NFC",
	"0bb43545-fd2c-4185-87dd-feb0b2916ace": "Security Key NFC by Yubico",
}

// AuthenticatorName is the known name of an authenticator model, or "".
func AuthenticatorName(aaguid string) string {
	return authenticatorNames[strings.ToLower(aaguid)]
}
