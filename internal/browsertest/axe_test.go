package browsertest

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// TestAxe: axe-core runs in a page whose Content-Security-Policy refuses
// every script, finds the faint text, the image without alternative text
// and the button without a name, with their selectors, and sees the page as
// the emulated colour scheme and viewport lay it out.
func TestAxe(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'none'; style-src 'unsafe-inline'")
		http.ServeFile(w, r, "testdata/axe.html")
	}))
	t.Cleanup(srv.Close)
	ctx := Chrome(t)
	Navigate(t, ctx, Localhost(srv.URL))

	found := func() map[string]AxeViolation {
		out := map[string]AxeViolation{}
		for _, v := range Axe(t, ctx) {
			out[v.ID] = v
		}
		return out
	}
	want := map[string]string{"color-contrast": "#faint", "image-alt": "#no-alt", "button-name": "#no-name"}
	for _, scheme := range []string{"light", "dark"} {
		ColorScheme(t, ctx, scheme)
		got := found()
		for id, target := range want {
			v, ok := got[id]
			if !ok {
				t.Errorf("%s: axe misses %s; found %v", scheme, id, got)
				continue
			}
			if !v.Serious() || !slices.ContainsFunc(v.Nodes, func(n AxeNode) bool { return n.Target == target }) {
				t.Errorf("%s: %s", scheme, v)
			}
		}
		if c := got["color-contrast"]; !strings.Contains(c.String(), "contrast") {
			t.Errorf("%s: the report lacks what is wrong:\n%s", scheme, c)
		}
	}
	if w := Eval[int](t, ctx, `innerWidth`); w != 1280 {
		t.Errorf("window %d wide before Viewport", w)
	}
	Viewport(t, ctx, 390, 844, true)
	if w := Eval[int](t, ctx, `innerWidth`); w != 390 {
		t.Errorf("window %d wide after Viewport(390)", w)
	}
	if v := AxeVersion(t, ctx); v == "" {
		t.Error("no axe version")
	}
}

// TestSettle: after a change of colour scheme, a button whose background
// takes 0.8 s to fade has its final colours once Settle returns.
func TestSettle(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, "testdata/axe.html")
	}))
	t.Cleanup(srv.Close)
	ctx := Chrome(t)
	Navigate(t, ctx, Localhost(srv.URL))
	background := func() string {
		return Eval[string](t, ctx, `getComputedStyle(document.querySelector('#fading')).backgroundColor`)
	}
	ColorScheme(t, ctx, "dark")
	if got := background(); got == "rgb(0, 0, 0)" {
		t.Fatal("no transition to wait for")
	}
	Settle(t, ctx)
	if got := background(); got != "rgb(0, 0, 0)" {
		t.Errorf("background %s once settled, want rgb(0, 0, 0)", got)
	}
}
