package browsertest

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
)

// Viewport makes the tab's viewport width by height CSS pixels at a device
// scale factor of 1, as on a desktop window; mobile makes it a phone's
// instead, where the page's viewport meta tag applies. It stays across
// navigations until the tab closes or Viewport is called again.
func Viewport(t testing.TB, ctx context.Context, width, height int64, mobile bool) {
	t.Helper()
	call(t, ctx, "set the viewport", emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
		Width: width, Height: height, DeviceScaleFactor: 1, Mobile: mobile,
	})
}

// ColorScheme makes the tab's pages see prefers-color-scheme as scheme,
// "light" or "dark"; "" goes back to the browser's own. It stays across
// navigations, and ends any other media feature that Media emulated.
func ColorScheme(t testing.TB, ctx context.Context, scheme string) {
	t.Helper()
	Media(t, ctx, map[string]string{"prefers-color-scheme": scheme})
}

// Media makes the tab's pages see the CSS media features given, such as
// {"prefers-color-scheme": "dark", "prefers-reduced-motion": "reduce"}, and
// the browser's own value of every other; a feature given "" is the
// browser's own too. Each call replaces the last. It stays across
// navigations.
func Media(t testing.TB, ctx context.Context, features map[string]string) {
	t.Helper()
	var list []*emulation.MediaFeature
	var names []string
	for name, value := range features {
		if value != "" {
			list = append(list, &emulation.MediaFeature{Name: name, Value: value})
			names = append(names, name+": "+value)
		}
	}
	slices.Sort(names)
	call(t, ctx, "emulate media features "+strings.Join(names, ", "), emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: list})
}

// UserAgent makes the tab send ua as its User-Agent header and report it as
// navigator.userAgent, so one browser can play an iPhone or a Windows PC.
// It stays across navigations.
func UserAgent(t testing.TB, ctx context.Context, ua string) {
	t.Helper()
	call(t, ctx, "set the user agent", emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua})
}
