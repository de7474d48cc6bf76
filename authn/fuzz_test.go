package authn

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/pquerna/otp/totp"

	"latch/internal/web"
)

// FuzzNormalizeTOTPCode: a typed code is accepted only as six ASCII digits.
func FuzzNormalizeTOTPCode(f *testing.F) {
	for _, seed := range []string{"123456", " 123 456 ", "12345", "1234567", "１２３４５６", "12345\x00", "abcdef", "+12345"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, code string) {
		n, ok := normalizeTOTPCode(code)
		if !ok {
			return
		}
		if len(n) != 6 {
			t.Fatalf("accepted %q as %q", code, n)
		}
		for i := 0; i < len(n); i++ {
			if n[i] < '0' || n[i] > '9' {
				t.Fatalf("accepted %q as %q", code, n)
			}
		}
	})
}

// FuzzMatchStep: a code that is not the right one for the secret never
// matches, whatever it is.
func FuzzMatchStep(f *testing.F) {
	f.Add("000000", int64(0))
	f.Add("999999", int64(1<<40))
	f.Add("12 34", int64(-1))
	const secret = "JBSWY3DPEHPK3PXP"
	now := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, code string, lastUsed int64) {
		step, err := matchStep(secret, code, now, lastUsed)
		if err != nil || step == 0 { // 0: no step matched
			return
		}
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totpOpts)
		if err != nil || want != code {
			t.Fatalf("code %q matched step %d, whose code is %q", code, step, want)
		}
		if step <= lastUsed {
			t.Fatalf("code %q matched step %d, not after the last used %d", code, step, lastUsed)
		}
		if d := step - now.Unix()/30; d < -1 || d > 1 {
			t.Fatalf("code %q matched step %d, %d steps from now", code, step, d)
		}
	})
}

// FuzzFlowCookie: the second-factor flow cookie decodes only when latch
// sealed it; no value a browser makes up passes for one. (The only state
// ever sealed with this key is account "a"'s; a decoded cookie with
// anything else was forged.)
func FuzzFlowCookie(f *testing.F) {
	h := &Handler{Flow: securecookie.New([]byte("0123456789abcdef0123456789abcdef"), []byte("0123456789abcdef0123456789abcdef")),
		Cookies: &web.Cookies{}, Now: time.Now}
	genuine, err := h.Flow.Encode(h.Cookies.Name("flow"), flowState{AccountID: "a", At: time.Now()})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{genuine, genuine[:len(genuine)-1] + "A", "", "x", "MTIzNHx8", strings.Repeat("A", 5000)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		r := httptest.NewRequest("GET", "/login/verify", nil)
		r.AddCookie(&http.Cookie{Name: h.Cookies.Name("flow"), Value: v})
		st, ok := h.flow(r)
		if ok && (st.AccountID != "a" || st.AuthRequest != "") {
			t.Fatalf("a made-up flow cookie %q decoded to %+v", v, st)
		}
	})
}
