package sessions

import (
	"strings"
	"unicode/utf8"

	"github.com/mileusna/useragent"
)

// DeviceKind is what icon a device gets on the active sessions page.
type DeviceKind string

// The kinds of device a session can be shown as.
const (
	KindDesktop DeviceKind = "desktop"
	KindPhone   DeviceKind = "phone"
	KindTablet  DeviceKind = "tablet"
	KindApp     DeviceKind = "app" // a native or CLI client named by the clients file
	KindUnknown DeviceKind = "unknown"
)

// DeviceInfo is how a device appears to the person who owns the session:
// a short name such as "Firefox on Windows" and the kind of icon to draw.
type DeviceInfo struct {
	Name string
	Kind DeviceKind
}

// unknownDevice is the name shown when a User-Agent says nothing we can put
// into words.
const unknownDevice = "Unknown device"

// maxUserAgentBytes bounds how much of a User-Agent header is parsed. Real
// browsers send a few hundred bytes; the header is attacker-controlled, so
// anything longer is cut before it reaches the parser.
const maxUserAgentBytes = 1024

// maxDeviceNameRunes bounds the length of a device name. Names are built only
// from the tables below, so the cap is a backstop, not a filter.
const maxDeviceNameRunes = 64

// browserNames maps the browser names of github.com/mileusna/useragent to the
// names people know. A name missing here is never shown: the parser falls
// back to arbitrary tokens of the header, and those must not reach the page.
var browserNames = map[string]string{
	useragent.Chrome:           "Chrome",
	useragent.HeadlessChrome:   "Headless Chrome",
	useragent.Firefox:          "Firefox",
	useragent.Safari:           "Safari",
	useragent.Edge:             "Edge",
	useragent.Opera:            "Opera",
	useragent.OperaMini:        "Opera Mini",
	useragent.OperaTouch:       "Opera",
	useragent.Vivaldi:          "Vivaldi",
	useragent.SamsungBrowser:   "Samsung Internet",
	useragent.InternetExplorer: "Internet Explorer",
	useragent.FacebookApp:      "Facebook",
	useragent.InstagramApp:     "Instagram",
	useragent.TiktokApp:        "TikTok",
	"Android browser":          "Android Browser",
	"Huawei Browser":           "Huawei Browser",
	"Miui Browser":             "Mi Browser",
	"YaBrowser":                "Yandex Browser",
	"UCBrowser":                "UC Browser",
	"Whale":                    "Whale",
	"Silk":                     "Silk",
	"DuckDuckGo":               "DuckDuckGo",
}

// osNames maps the operating systems of github.com/mileusna/useragent to the
// names people say. iOS is missing on purpose: people name the device
// ("iPhone", "iPad"), which is taken from the parser's Device field.
var osNames = map[string]string{
	useragent.Windows:      "Windows",
	useragent.WindowsPhone: "Windows Phone",
	useragent.MacOS:        "macOS",
	useragent.Linux:        "Linux",
	useragent.FreeBSD:      "FreeBSD",
	useragent.ChromeOS:     "ChromeOS",
	useragent.CrOS:         "ChromeOS",
	useragent.Android:      "Android",
	useragent.BlackBerry:   "BlackBerry",
	useragent.Harmony:      "HarmonyOS",
}

// httpClients maps the first product token of command-line tools and HTTP
// libraries, lower-cased, to their name. A tool a person types keeps its own
// name; a library gets the generic "Command-line client".
var httpClients = map[string]string{
	"curl":              "curl",
	"wget":              "Wget",
	"httpie":            "HTTPie",
	"postmanruntime":    "Postman",
	"insomnia":          "Insomnia",
	"go-http-client":    "Command-line client",
	"python-requests":   "Command-line client",
	"python-urllib":     "Command-line client",
	"python-httpx":      "Command-line client",
	"aiohttp":           "Command-line client",
	"node-fetch":        "Command-line client",
	"node":              "Command-line client",
	"undici":            "Command-line client",
	"axios":             "Command-line client",
	"apache-httpclient": "Command-line client",
	"java":              "Command-line client",
	"libwww-perl":       "Command-line client",
	"ruby":              "Command-line client",
	"faraday":           "Command-line client",
	"reqwest":           "Command-line client",
	"deno":              "Command-line client",
	"bun":               "Command-line client",
}

// DescribeUserAgent names the browser and operating system of a User-Agent
// header, as in "Firefox on Windows" or "Safari on iPhone", and says what
// kind of device sent it. It never returns text copied from the header: every
// name comes from a fixed table, and a header it cannot put into words is an
// "Unknown device". Native and command-line clients registered with a
// device_name are named by the caller, not here.
//
// Some devices cannot be told apart by their header: Safari on an iPad asks
// for desktop sites and sends a macOS header, and Brave sends Chrome's.
func DescribeUserAgent(ua string) DeviceInfo {
	if len(ua) > maxUserAgentBytes {
		ua = ua[:maxUserAgentBytes]
	}
	ua = strings.TrimSpace(ua)
	if ua == "" {
		return DeviceInfo{Name: unknownDevice, Kind: KindUnknown}
	}
	if name, ok := httpClients[strings.ToLower(productToken(ua))]; ok {
		return DeviceInfo{Name: name, Kind: KindUnknown}
	}

	p := useragent.Parse(ua)
	browser := browserNames[p.Name]
	if browser == "" && p.Bot {
		// A crawler that somehow holds a session is not a device anyone owns.
		return DeviceInfo{Name: unknownDevice, Kind: KindUnknown}
	}
	if browser == "" && strings.Contains(ua, "Chrome/") {
		// Browsers built on Chromium that the parser does not know by name
		// send Chrome's header with one extra token; Chrome is the honest
		// name for them, as it is for Brave.
		browser = "Chrome"
	}

	system, kind := describeOS(p, ua)
	var name string
	switch {
	case browser != "" && system != "":
		name = browser + " on " + system
	case browser != "":
		name = browser
	case system == "iPhone" || system == "iPad":
		name = system
	case system != "":
		name = system + " device"
	default:
		return DeviceInfo{Name: unknownDevice, Kind: KindUnknown}
	}
	return DeviceInfo{Name: capRunes(name, maxDeviceNameRunes), Kind: kind}
}

// describeOS names the operating system (or, for Apple's phones and tablets,
// the device) and picks the kind of icon.
func describeOS(p useragent.UserAgent, ua string) (string, DeviceKind) {
	if p.OS == useragent.IOS {
		switch p.Device {
		case "iPad":
			return "iPad", KindTablet
		case "iPhone":
			return "iPhone", KindPhone
		}
		return "iOS", KindPhone
	}
	system := osNames[p.OS]
	switch {
	case system == "":
		return "", KindUnknown
	case p.OS == useragent.Android:
		// Chrome and browsers built on it leave "Mobile" out of the header on
		// Android tablets; Firefox says "Tablet" instead of "Mobile".
		if p.Tablet || !strings.Contains(ua, "Mobile") {
			return system, KindTablet
		}
		return system, KindPhone
	case p.Tablet:
		return system, KindTablet
	case p.Mobile:
		return system, KindPhone
	case p.Desktop:
		return system, KindDesktop
	}
	return system, KindUnknown
}

// productToken returns the first product name of a User-Agent header: the
// text before the first slash or space ("curl" in "curl/8.5.0").
func productToken(ua string) string {
	if i := strings.IndexAny(ua, "/ ;("); i >= 0 {
		return ua[:i]
	}
	return ua
}

// capRunes cuts s to at most n runes.
func capRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
