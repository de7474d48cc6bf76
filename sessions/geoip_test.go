package sessions

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// geoRecord builds a GeoIP2 City record; empty parts are left out, as they
// are in the real databases.
func geoRecord(city, region, country string) mmdbtype.Map {
	names := func(en string) mmdbtype.Map {
		return mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(en), "de": mmdbtype.String(en + " (de)")}}
	}
	m := mmdbtype.Map{}
	if city != "" {
		m["city"] = names(city)
		// Present in real databases and deliberately never read.
		m["location"] = mmdbtype.Map{"latitude": mmdbtype.Float64(51.5142), "longitude": mmdbtype.Float64(-0.0931)}
		m["postal"] = mmdbtype.Map{"code": mmdbtype.String("EC2V")}
	}
	if region != "" {
		m["subdivisions"] = mmdbtype.Slice{names(region), names(region + " district")}
	}
	if country != "" {
		m["country"] = names(country)
	}
	return m
}

// writeDB writes a small MaxMind database of the given type with the given
// networks and returns its path.
func writeDB(t testing.TB, dbType string, nets map[string]mmdbtype.DataType) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType: dbType,
		Languages:    []string{"en", "de"},
		RecordSize:   24,
		// Reserved ranges are written on purpose: they hold a trap record
		// that Locate must never reach.
		IncludeReservedNetworks: true,
		// Without the ::ffff:0:0/96 alias an IPv4-mapped address is only
		// found if Locate unmaps it first.
		DisableIPv4Aliasing: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, v := range nets {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(n, v); err != nil {
			t.Fatalf("insert %s: %v", cidr, err)
		}
	}
	path := filepath.Join(t.TempDir(), "test.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// openTestLocator opens a GeoLite2-City style test database.
func openTestLocator(t testing.TB) *Locator {
	t.Helper()
	trap := geoRecord("Trapville", "Trap County", "Nowhere")
	path := writeDB(t, "GeoLite2-City", map[string]mmdbtype.DataType{
		"81.2.69.0/24":    geoRecord("London", "England", "United Kingdom"),
		"2.125.160.0/19":  geoRecord("Boxford", "England", "United Kingdom"),
		"2a01:4f8::/29":   geoRecord("Falkenstein", "Saxony", "Germany"),
		"175.16.199.0/24": geoRecord("", "", "Sweden"),
		"89.160.20.0/24":  mmdbtype.Map{"city": mmdbtype.String("not a map")},
		"10.0.0.0/8":      trap,
		"127.0.0.0/8":     trap,
		"169.254.0.0/16":  trap,
		"192.168.0.0/16":  trap,
		"fe80::/10":       trap,
		"fc00::/7":        trap,
		"ff00::/8":        trap,
	})
	l, err := OpenLocator(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// TestLocatorLocate looks up public, private and odd addresses.
func TestLocatorLocate(t *testing.T) {
	l := openTestLocator(t)
	tests := []struct {
		name string
		addr netip.Addr
		want string
	}{
		{"ipv4 city", netip.MustParseAddr("81.2.69.142"), "London, England, United Kingdom"},
		{"ipv4 other city", netip.MustParseAddr("2.125.160.216"), "Boxford, England, United Kingdom"},
		{"ipv6 city", netip.MustParseAddr("2a01:4f8:c010::1"), "Falkenstein, Saxony, Germany"},
		{"country only", netip.MustParseAddr("175.16.199.1"), "Sweden"},
		{"ipv4-mapped ipv6", netip.MustParseAddr("::ffff:81.2.69.142"), "London, England, United Kingdom"},
		{"not in database", netip.MustParseAddr("8.8.8.8"), "Unknown location"},
		{"ipv6 not in database", netip.MustParseAddr("2606:4700::1111"), "Unknown location"},
		{"record of the wrong shape", netip.MustParseAddr("89.160.20.1"), "Unknown location"},
		{"private", netip.MustParseAddr("10.0.0.1"), "Local network"},
		{"private 192.168", netip.MustParseAddr("192.168.1.20"), "Local network"},
		{"loopback", netip.MustParseAddr("127.0.0.1"), "This computer"},
		{"ipv6 loopback", netip.MustParseAddr("::1"), "This computer"},
		{"link-local", netip.MustParseAddr("fe80::1"), "Local network"},
		{"link-local with zone", netip.MustParseAddr("fe80::1%eth0"), "Local network"},
		{"ipv4 link-local", netip.MustParseAddr("169.254.1.1"), "Local network"},
		{"unique local", netip.MustParseAddr("fd12:3456::1"), "Local network"},
		{"multicast", netip.MustParseAddr("ff02::1"), "Unknown location"},
		{"mapped private", netip.MustParseAddr("::ffff:10.0.0.1"), "Local network"},
		{"mapped loopback", netip.MustParseAddr("::ffff:127.0.0.1"), "This computer"},
		{"unspecified", netip.IPv4Unspecified(), "Unknown location"},
		{"ipv6 unspecified", netip.IPv6Unspecified(), "Unknown location"},
		{"invalid", netip.Addr{}, "Unknown location"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := l.Locate(tc.addr)
			if got := p.String(); got != tc.want {
				t.Errorf("Locate(%v) = %q (%+v), want %q", tc.addr, got, p, tc.want)
			}
			if p.Known() != (tc.want != "Unknown location") {
				t.Errorf("Locate(%v).Known() = %v", tc.addr, p.Known())
			}
		})
	}
}

// TestLocatorNil checks that latch without --geoip-db locates nothing and
// does not crash.
func TestLocatorNil(t *testing.T) {
	var l *Locator
	if p := l.Locate(netip.MustParseAddr("81.2.69.142")); p != (Place{}) {
		t.Errorf("nil Locator: Locate = %+v, want empty", p)
	}
	if err := l.Close(); err != nil {
		t.Errorf("nil Locator: Close = %v", err)
	}
	// Without a database, addresses a person recognises still have a place.
	for addr, want := range map[string]string{"127.0.0.1": ThisComputer, "::1": ThisComputer, "192.168.1.20": LocalNetwork, "fd12:3456::1": LocalNetwork, "8.8.8.8": "Unknown location"} {
		if got := l.Locate(netip.MustParseAddr(addr)).String(); got != want {
			t.Errorf("nil Locator: Locate(%s) = %q, want %q", addr, got, want)
		}
	}
}

// TestLocatorClose checks that a closed Locator answers nothing, that Close
// is idempotent, and (under -race) that Close waits for lookups in flight.
func TestLocatorClose(t *testing.T) {
	l := openTestLocator(t)
	london := netip.MustParseAddr("81.2.69.142")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				if p := l.Locate(london); p.Known() && p.City != "London" {
					t.Errorf("Locate during Close = %+v", p)
				}
			}
		})
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if p := l.Locate(london); p.Known() {
		t.Errorf("closed Locator: Locate = %+v, want empty", p)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

// TestOpenLocatorErrors checks that a bad --geoip-db stops start-up with one
// line naming the flag and the file.
func TestOpenLocatorErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "cities.txt")
	if err := os.WriteFile(text, []byte("London,51.5,-0.1\nBerlin,52.5,13.4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.mmdb")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	asn := writeDB(t, "GeoLite2-ASN", map[string]mmdbtype.DataType{
		"81.2.69.0/24": mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(20712)},
	})
	tests := []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "missing.mmdb"), "--geoip-db: cannot read " + filepath.Join(dir, "missing.mmdb") + ": no such file or directory"},
		{"directory", dir, "--geoip-db: cannot read " + dir + ": is a directory"},
		{"text file", text, "--geoip-db: " + text + " is not a MaxMind database"},
		{"empty file", empty, "--geoip-db: " + empty + " is not a MaxMind database"},
		{"asn database", asn, "--geoip-db: " + asn + ` is a "GeoLite2-ASN" database, not a city or country database`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := OpenLocator(tc.path)
			if err == nil {
				l.Close()
				t.Fatalf("OpenLocator(%s) succeeded", tc.path)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("OpenLocator error = %q, want %q", got, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("OpenLocator error spans lines: %q", err)
			}
		})
	}
}

// TestOpenLocatorTypes checks that the city and country databases of MaxMind
// and DB-IP are accepted.
func TestOpenLocatorTypes(t *testing.T) {
	for _, dbType := range []string{"GeoLite2-City", "GeoIP2-City", "DBIP-City-Lite", "GeoLite2-Country", "DBIP-Country-Lite"} {
		t.Run(dbType, func(t *testing.T) {
			path := writeDB(t, dbType, map[string]mmdbtype.DataType{
				"81.2.69.0/24": geoRecord("London", "England", "United Kingdom"),
			})
			l, err := OpenLocator(path)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if got := l.Locate(netip.MustParseAddr("81.2.69.1")).City; got != "London" {
				t.Errorf("city = %q, want London", got)
			}
		})
	}
}

// TestPlaceString checks how a place reads on the sessions page.
func TestPlaceString(t *testing.T) {
	tests := []struct {
		name  string
		place Place
		want  string
		known bool
	}{
		{"all parts", Place{City: "London", Region: "England", Country: "United Kingdom"}, "London, England, United Kingdom", true},
		{"city state", Place{City: "Singapore", Region: "", Country: "Singapore"}, "Singapore", true},
		{"city repeated as region", Place{City: "Berlin", Region: "Berlin", Country: "Germany"}, "Berlin, Germany", true},
		{"repeat ignores case", Place{City: "Monaco", Region: "", Country: "MONACO"}, "Monaco", true},
		{"no city", Place{City: "", Region: "Bavaria", Country: "Germany"}, "Bavaria, Germany", true},
		{"country only", Place{Country: "Sweden"}, "Sweden", true},
		{"city only", Place{City: "Paris"}, "Paris", true},
		{"empty", Place{}, "Unknown location", false},
		{"this computer", Place{Network: ThisComputer}, "This computer", true},
		{"local network", Place{Network: LocalNetwork}, "Local network", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.place.String(); got != tc.want {
				t.Errorf("%+v.String() = %q, want %q", tc.place, got, tc.want)
			}
			if got := tc.place.Known(); got != tc.known {
				t.Errorf("%+v.Known() = %v, want %v", tc.place, got, tc.known)
			}
		})
	}
}

// BenchmarkLocate measures one lookup; a lookup runs at every sign-in.
func BenchmarkLocate(b *testing.B) {
	l := openTestLocator(b)
	a := netip.MustParseAddr("81.2.69.142")
	for b.Loop() {
		l.Locate(a)
	}
}
