package sessions

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestDescribeUserAgent runs real User-Agent headers, as current browsers and
// tools send them, through DescribeUserAgent.
func TestDescribeUserAgent(t *testing.T) {
	tests := []struct {
		name string
		ua   string
		want DeviceInfo
	}{
		{"chrome windows",
			"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
			DeviceInfo{"Chrome on Windows", KindDesktop}},
		{"chrome macos",
			"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
			DeviceInfo{"Chrome on macOS", KindDesktop}},
		{"chrome linux",
			"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
			DeviceInfo{"Chrome on Linux", KindDesktop}},
		{"chrome chromeos",
			"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
			DeviceInfo{"Chrome on ChromeOS", KindDesktop}},
		{"chrome android phone",
			"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
			DeviceInfo{"Chrome on Android", KindPhone}},
		{"chrome android tablet",
			"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
			DeviceInfo{"Chrome on Android", KindTablet}},
		{"chrome iphone",
			"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
			DeviceInfo{"Chrome on iPhone", KindPhone}},
		{"chrome ipad",
			"Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
			DeviceInfo{"Chrome on iPad", KindTablet}},
		{"headless chrome",
			"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0.0.0 Safari/537.36",
			DeviceInfo{"Headless Chrome on Linux", KindDesktop}},
		{"firefox windows",
			"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
			DeviceInfo{"Firefox on Windows", KindDesktop}},
		{"firefox macos",
			"Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:127.0) Gecko/20100101 Firefox/127.0",
			DeviceInfo{"Firefox on macOS", KindDesktop}},
		{"firefox linux",
			"Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
			DeviceInfo{"Firefox on Linux", KindDesktop}},
		{"firefox ubuntu",
			"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
			DeviceInfo{"Firefox on Linux", KindDesktop}},
		{"firefox android",
			"Mozilla/5.0 (Android 14; Mobile; rv:127.0) Gecko/127.0 Firefox/127.0",
			DeviceInfo{"Firefox on Android", KindPhone}},
		{"firefox android tablet",
			"Mozilla/5.0 (Android 14; Tablet; rv:127.0) Gecko/127.0 Firefox/127.0",
			DeviceInfo{"Firefox on Android", KindTablet}},
		{"firefox iphone",
			"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/127.0 Mobile/15E148 Safari/605.1.15",
			DeviceInfo{"Firefox on iPhone", KindPhone}},
		{"safari macos",
			"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
			DeviceInfo{"Safari on macOS", KindDesktop}},
		{"safari iphone",
			"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
			DeviceInfo{"Safari on iPhone", KindPhone}},
		{"safari ipad mobile site",
			"Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
			DeviceInfo{"Safari on iPad", KindTablet}},
		// iPadOS Safari asks for desktop sites by default and sends the macOS
		// header; nothing in it tells the two apart.
		{"safari ipados desktop site",
			"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
			DeviceInfo{"Safari on macOS", KindDesktop}},
		{"edge windows",
			"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.56",
			DeviceInfo{"Edge on Windows", KindDesktop}},
		{"edge macos",
			"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.56",
			DeviceInfo{"Edge on macOS", KindDesktop}},
		{"edge android",
			"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36 EdgA/126.0.2592.48",
			DeviceInfo{"Edge on Android", KindPhone}},
		{"edge iphone",
			"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/126.2592.56 Mobile/15E148 Safari/605.1.15",
			DeviceInfo{"Edge on iPhone", KindPhone}},
		{"opera windows",
			"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 OPR/111.0.0.0",
			DeviceInfo{"Opera on Windows", KindDesktop}},
		{"opera android",
			"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Mobile Safari/537.36 OPR/82.0.0.0",
			DeviceInfo{"Opera on Android", KindPhone}},
		{"vivaldi linux",
			"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Vivaldi/6.8.3381.46",
			DeviceInfo{"Vivaldi on Linux", KindDesktop}},
		{"samsung internet",
			"Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
			DeviceInfo{"Samsung Internet on Android", KindPhone}},
		{"samsung internet tablet",
			"Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Safari/537.36",
			DeviceInfo{"Samsung Internet on Android", KindTablet}},
		{"android webview",
			"Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240605.024; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.71 Mobile Safari/537.36",
			DeviceInfo{"Chrome on Android", KindPhone}},
		{"yandex windows",
			"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 YaBrowser/24.6.0.0 Safari/537.36",
			DeviceInfo{"Yandex Browser on Windows", KindDesktop}},
		{"unknown chromium browser",
			"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Frobnicator/3.1 Safari/537.36",
			DeviceInfo{"Chrome on Windows", KindDesktop}},
		{"curl", "curl/8.5.0", DeviceInfo{"curl", KindUnknown}},
		{"wget", "Wget/1.21.4", DeviceInfo{"Wget", KindUnknown}},
		{"go http client", "Go-http-client/1.1", DeviceInfo{"Command-line client", KindUnknown}},
		{"go http client 2", "Go-http-client/2.0", DeviceInfo{"Command-line client", KindUnknown}},
		{"python requests", "python-requests/2.32.3", DeviceInfo{"Command-line client", KindUnknown}},
		{"googlebot",
			"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.126 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
			DeviceInfo{"Unknown device", KindUnknown}},
		{"empty", "", DeviceInfo{"Unknown device", KindUnknown}},
		{"blank", "   ", DeviceInfo{"Unknown device", KindUnknown}},
		{"garbage", "asdf qwer zxcv", DeviceInfo{"Unknown device", KindUnknown}},
		{"markup", "<script>alert(1)</script>", DeviceInfo{"Unknown device", KindUnknown}},
		{"bare mozilla", "Mozilla/5.0", DeviceInfo{"Unknown device", KindUnknown}},
		{"unknown browser on windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Frobnicator/3.1",
			DeviceInfo{"Windows device", KindDesktop}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := DescribeUserAgent(tc.ua); got != tc.want {
				t.Errorf("DescribeUserAgent(%q) = %+v, want %+v", tc.ua, got, tc.want)
			}
		})
	}
}

// TestDescribeUserAgentNeverEchoes checks that no part of a hostile or huge
// header reaches the name shown on the sessions page.
func TestDescribeUserAgentNeverEchoes(t *testing.T) {
	hostile := []string{
		"EvilCorp-Agent/1.0 (<b>pwned</b>)",
		"Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko) PleaseShowMe/1.0",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 " + strings.Repeat("A", 100000),
		strings.Repeat("x", 100000),
		"\x00\xff\xfe",
	}
	for _, ua := range hostile {
		got := DescribeUserAgent(ua)
		for _, word := range []string{"EvilCorp", "pwned", "<", "PleaseShowMe", "AAAA", "xxxx", "\x00"} {
			if strings.Contains(got.Name, word) {
				t.Errorf("DescribeUserAgent(%.40q) = %q, echoes %q", ua, got.Name, word)
			}
		}
		if n := utf8.RuneCountInString(got.Name); n == 0 || n > maxDeviceNameRunes {
			t.Errorf("DescribeUserAgent(%.40q) = %q: %d runes", ua, got.Name, n)
		}
	}
}

// BenchmarkDescribeUserAgent measures one description of a common header; the
// sessions page describes each of its rows.
func BenchmarkDescribeUserAgent(b *testing.B) {
	const ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.56"
	for b.Loop() {
		DescribeUserAgent(ua)
	}
}
