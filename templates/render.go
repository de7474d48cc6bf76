package templates

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
)

//go:embed html/*.html html/parts/*.html
var pageFiles embed.FS

// Set holds every parsed page. It is safe for concurrent use.
type Set struct {
	// Logger receives render failures. Nil means slog.Default().
	Logger *slog.Logger

	// Now is the clock that relative times ("Active 5 minutes ago") and
	// the activity page's "Today" and "Yesterday" are measured from. Nil
	// means time.Now.
	Now func() time.Time

	pages map[string]page
}

// page is one parsed page and the data type it is written for.
type page struct {
	tmpl *template.Template
	data reflect.Type
}

// Parse parses every page with the shared layout and test-renders each one,
// returning an error that names a broken page, so that latch
// refuses to start rather than failing on a person's request.
func Parse() (*Set, error) {
	assets, err := assetVersions()
	if err != nil {
		return nil, err
	}
	// The set exists before its templates so that the clock-reading
	// functions can close over it and follow a Now set after Parse.
	s := &Set{pages: make(map[string]page)}
	layout, err := template.New("layout.html").Funcs(s.funcs(assets)).ParseFS(pageFiles, "html/layout.html", "html/parts/*.html")
	if err != nil {
		return nil, fmt.Errorf("templates: layout: %w", err)
	}
	for _, p := range pages() {
		if _, dup := s.pages[p.name]; dup {
			return nil, fmt.Errorf("templates: %s: listed twice", p.name)
		}
		t, err := layout.Clone()
		if err != nil {
			return nil, fmt.Errorf("templates: %s: %w", p.name, err)
		}
		if _, err := t.ParseFS(pageFiles, "html/"+p.name+".html"); err != nil {
			return nil, fmt.Errorf("templates: %s: %w", p.name, err)
		}
		for i, sample := range p.samples {
			if err := t.ExecuteTemplate(io.Discard, "layout", sample); err != nil {
				return nil, fmt.Errorf("templates: %s: sample %d: %w", p.name, i, err)
			}
		}
		s.pages[p.name] = page{tmpl: t, data: p.data}
	}
	return s, nil
}

// Render writes the page with the given status; v is a page bound to its
// data, such as templates.Login.With(p). It executes into a
// buffer first so that a template error answers with a clean 500 instead of
// half a page under a 200 status.
//
// Pages carry CSRF tokens and personal data, so Render marks them no-store
// unless the handler has already chosen a Cache-Control.
//
// Behind [TimeZones], Render sets the page's Base.Zone to the person's time
// zone, on a copy of v's data.
func (s *Set) Render(w http.ResponseWriter, status int, v View) {
	if status == 0 {
		status = http.StatusOK
	}
	data := v.data
	if zone := zoneOf(w); zone != nil {
		data = withZone(data, zone)
	}
	var buf bytes.Buffer
	err := s.execute(&buf, v.name, data)
	if err != nil {
		s.logger().Error("render page", "page", v.name, "err", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "Something went wrong on our side. Please try again.\n")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("X-Content-Type-Options", "nosniff")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// execute renders the page after checking that data is the page's own type
// (or a pointer to it). [Page.With] makes a wrong type a compile error; the
// check stays for the zero View, and because html/template would happily
// render a sign-in form from nil data, with an empty CSRF token.
func (s *Set) execute(w io.Writer, name string, data any) error {
	p, ok := s.pages[name]
	if !ok {
		return fmt.Errorf("templates: no page named %q", name)
	}
	v := reflect.ValueOf(data)
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if !v.IsValid() || v.Type() != p.data {
		return fmt.Errorf("templates: page %q needs %v, got %T", name, p.data, data)
	}
	return p.tmpl.ExecuteTemplate(w, "layout", v.Interface())
}

// withZone returns a copy of a page's data with Base.Zone set, or data
// itself when it has no Base.
func withZone(data any, zone *time.Location) any {
	v := reflect.ValueOf(data)
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return data
	}
	c := reflect.New(v.Type()).Elem()
	c.Set(v)
	f := c.FieldByName("Base")
	if !f.IsValid() || f.Type() != reflect.TypeFor[Base]() {
		return data
	}
	f.Addr().Interface().(*Base).Zone = zone
	return c.Interface()
}

func (s *Set) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Set) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// RetryAfter is the Retry-After, in seconds, of latch's 503 answers while
// its database is away.
const RetryAfter = "2"

// Unavailable answers 503 with the unavailable page: latch could not ask
// its database, so it cannot tell whether the person is signed in or what
// their request would do, and says neither. Loading the page again is
// offered after a GET; after a POST the person resends the form.
func (s *Set) Unavailable(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Retry-After", RetryAfter)
	h.Set("Cache-Control", "no-store")
	p := UnavailablePage{Base: Base{Title: "Try again in a moment"}}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if u := r.URL.RequestURI(); strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//") && !strings.HasPrefix(u, "/\\") {
			p.Retry = u
		}
	}
	s.Render(w, http.StatusServiceUnavailable, Unavailable.With(p))
}
