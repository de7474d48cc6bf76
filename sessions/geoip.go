package sessions

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"strings"
	"sync"

	"github.com/oschwald/maxminddb-golang/v2"
)

// Place is a coarse location: never more precise than a city. Its parts are
// English names; any of them may be empty. Network names an address that no
// map can place but a person recognises: "This computer" for loopback,
// "Local network" for private and link-local addresses.
type Place struct {
	City, Region, Country string
	Network               string
}

// Places of addresses that are not on the public internet.
const (
	ThisComputer = "This computer"
	LocalNetwork = "Local network"
)

// String writes the place as people read it, most precise part first:
// "London, England, United Kingdom". Empty parts are left out, and so is a
// part that repeats an earlier one, so the city state of Singapore reads
// "Singapore" and Berlin reads "Berlin, Germany". A place with no parts is
// "Unknown location".
func (p Place) String() string {
	if p.Network != "" {
		return p.Network
	}
	parts := make([]string, 0, 3)
	for _, s := range []string{p.City, p.Region, p.Country} {
		if s == "" || containsFold(parts, s) {
			continue
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "Unknown location"
	}
	return strings.Join(parts, ", ")
}

// Known reports whether any part of the place is known.
func (p Place) Known() bool {
	return p.City != "" || p.Region != "" || p.Country != "" || p.Network != ""
}

// containsFold reports whether list holds s, ignoring case.
func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// Locator finds the approximate place of an IP address in a MaxMind-format
// database given by --geoip-db. GeoLite2 City, GeoIP2 City and DB-IP City
// Lite all use the GeoIP2 City schema it reads; country databases of the
// same schema work too and yield only countries.
//
// A Locator is safe for concurrent use. The database is memory-mapped, so
// Close waits for lookups in flight before it unmaps it.
type Locator struct {
	mu sync.RWMutex
	db *maxminddb.Reader // nil once closed
}

// cityRecord is the part of a GeoIP2 City record that a Place needs. Fields
// that would make a place more precise than a city (postal code,
// coordinates) are not decoded at all.
type cityRecord struct {
	City struct {
		Names englishName `maxminddb:"names"`
	} `maxminddb:"city"`
	Subdivisions []struct {
		Names englishName `maxminddb:"names"`
	} `maxminddb:"subdivisions"`
	Country struct {
		Names englishName `maxminddb:"names"`
	} `maxminddb:"country"`
}

// englishName is a localized names map of which only English is kept.
type englishName struct {
	En string `maxminddb:"en"`
}

// OpenLocator opens the MaxMind-format database at path. Its errors are one
// line that names the --geoip-db flag and the file, fit to stop start-up with.
func OpenLocator(path string) (*Locator, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("--geoip-db: cannot read %s: %w", path, pathErr(err))
	}
	if st.IsDir() {
		return nil, fmt.Errorf("--geoip-db: cannot read %s: is a directory", path)
	}
	db, err := maxminddb.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("--geoip-db: cannot read %s: %w", path, pe.Err)
		}
		return nil, fmt.Errorf("--geoip-db: %s is not a MaxMind database", path)
	}
	// An ASN, ISP or anonymous-IP database opens fine and then answers
	// every lookup with an empty place; refuse it at start instead.
	t := strings.ToLower(db.Metadata.DatabaseType)
	if !strings.Contains(t, "city") && !strings.Contains(t, "country") && !strings.Contains(t, "enterprise") {
		_ = db.Close() // a reader latch will not use; the refusal is the error to report
		return nil, fmt.Errorf("--geoip-db: %s is a %q database, not a city or country database", path, db.Metadata.DatabaseType)
	}
	return &Locator{db: db}, nil
}

// pathErr strips the operation and path that os adds to an error, since the
// message around it already names the file.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Locate returns the approximate place of a. A loopback address is "This
// computer" and a private or link-local one "Local network", with or
// without a database. It returns the empty Place when a is not a unicast
// address (multicast, unspecified or invalid), when l is nil or closed, and
// when the database has no record or a record it cannot read: a sessions
// page is better off saying "Unknown location" than failing.
func (l *Locator) Locate(a netip.Addr) Place {
	// Unmap first: ::ffff:10.0.0.1 is a private address too, and an IPv4
	// record is found under its IPv4 form.
	a = a.Unmap().WithZone("")
	switch {
	case !a.IsValid() || a.IsUnspecified() || a.IsLinkLocalMulticast() || a.IsMulticast():
		return Place{}
	case a.IsLoopback():
		return Place{Network: ThisComputer}
	case a.IsPrivate() || a.IsLinkLocalUnicast():
		return Place{Network: LocalNetwork}
	case l == nil:
		return Place{}
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.db == nil {
		return Place{}
	}
	var r cityRecord
	if err := l.db.Lookup(a).Decode(&r); err != nil {
		return Place{}
	}
	p := Place{City: r.City.Names.En, Country: r.Country.Names.En}
	if len(r.Subdivisions) > 0 {
		p.Region = r.Subdivisions[0].Names.En
	}
	return p
}

// Close releases the database. Locate on a closed Locator returns the empty
// Place. Close on a nil or closed Locator does nothing.
func (l *Locator) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.db == nil {
		return nil
	}
	err := l.db.Close()
	l.db = nil
	return err
}
