package browsertest

import (
	"context"
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
// navigations.
func ColorScheme(t testing.TB, ctx context.Context, scheme string) {
	t.Helper()
	var features []*emulation.MediaFeature
	if scheme != "" {
		features = []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}
	}
	call(t, ctx, "emulate prefers-color-scheme: "+scheme, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: features})
}

// UserAgent makes the tab send ua as its User-Agent header and report it as
// navigator.userAgent, so one browser can play an iPhone or a Windows PC.
// It stays across navigations.
func UserAgent(t testing.TB, ctx context.Context, ua string) {
	t.Helper()
	call(t, ctx, "set the user agent", emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua})
}
