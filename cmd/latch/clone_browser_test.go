package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/latch-idp/latch/authn"
	"github.com/latch-idp/latch/internal/browsertest"
)

// TestSuspendedPasskeyInBrowser: a copy of a passkey with a lower counter,
// in another browser, suspends it; the genuine passkey is refused too; the
// security page shows the warning beside it with "It's mine, keep it" and
// "Remove it", and both buttons work.
func TestSuspendedPasskeyInBrowser(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	ctx := browsertest.Chrome(t)
	auth := browsertest.AddAuthenticator(t, ctx, browsertest.AuthenticatorOptions{})
	passwordSignIn(t, ctx, l)
	addPasskey(t, ctx, l, "Phone")
	signOut(t, ctx, l)
	// Use it twice so the stored counter is above 1.
	for range 2 {
		browsertest.Navigate(t, ctx, l.url+"/login")
		waitPath(t, ctx, "/account")
		signOut(t, ctx, l)
	}
	copied := credentialFrom(t, browsertest.Credentials(t, ctx, auth)[0])
	copied.SignCount = 0 // the copy answers 1, below what latch stored

	// The copy is in the other browser before its sign-in page opens, so
	// autofill offers it at once: one ceremony at a time, with no button
	// click racing it.
	other := browsertest.NewContext(t, ctx)
	id := browsertest.AddAuthenticator(t, other, browsertest.AuthenticatorOptions{})
	browsertest.AddCredential(t, other, id, copied)
	browsertest.Navigate(t, other, l.url+"/login")
	if msg := passkeyError(t, other); !strings.Contains(msg, "copy") {
		t.Fatalf("the copy: %q", msg)
	}
	browsertest.Navigate(t, other, l.url+"/logged-out") // autofill tries again after a refusal
	acct := l.accountID(l.email)
	if n := len(slices.DeleteFunc(l.passkeys(acct), func(pk authn.Passkey) bool { return !pk.Suspended() })); n != 1 {
		t.Fatal("the passkey is not suspended")
	}

	// The genuine passkey, offered by autofill, is refused until confirmed.
	browsertest.Navigate(t, ctx, l.url+"/login")
	if msg := passkeyError(t, ctx); !strings.Contains(msg, "suspended") {
		t.Fatalf("the genuine passkey: %q", msg)
	}
	browsertest.RemoveCredentials(t, ctx, auth)
	passwordSignIn(t, ctx, l)
	if n := l.countActivity(acct, ofKind("passkey_suspended")); n != 1 {
		t.Fatalf("%d suspensions recorded", n)
	}

	browsertest.Navigate(t, ctx, l.url+"/account/security")
	waitText(t, ctx, "#passkeys", "This passkey was used with an out-of-date counter, which happens when a passkey is copied.")
	browsertest.WaitVisible(t, ctx, ".item-warning form[action$='/reinstate'] button")
	browsertest.WaitVisible(t, ctx, ".item-warning form[action$='/remove'] button")
	if text := browsertest.Text(t, ctx, ".item-suspended"); !strings.Contains(text, "Suspended") ||
		!strings.Contains(text, "It's mine, keep it") || !strings.Contains(text, "Remove it") {
		t.Fatalf("the suspended passkey reads:\n%s", text)
	}
	browsertest.Screenshot(t, ctx, "suspended-passkey.png")

	// A password alone cannot vouch for it: the page says what to add.
	browsertest.Click(t, ctx, ".item-warning form[action$='/reinstate'] button")
	waitText(t, ctx, "main", "Add one of those first")
	browsertest.Click(t, ctx, ".item-warning form[action$='/remove'] button")
	waitText(t, ctx, "main", "Passkey removed.")
	if n := len(l.passkeys(acct)); n != 0 {
		t.Fatalf("%d passkeys left", n)
	}
}
