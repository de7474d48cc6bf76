package templates

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// TestEveryHandleIsListed reads the Page values declared in pages.go and
// checks that pages() lists each of them, and nothing else, so that no
// page can be declared without samples for Parse's dry run.
func TestEveryHandleIsListed(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "pages.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	declared := make(map[string]bool)
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.CompositeLit)
		if !ok {
			return true
		}
		idx, ok := lit.Type.(*ast.IndexExpr)
		if !ok {
			return true
		}
		if id, ok := idx.X.(*ast.Ident); !ok || id.Name != "Page" || len(lit.Elts) != 1 {
			return true
		}
		s, ok := lit.Elts[0].(*ast.BasicLit)
		if !ok || s.Kind != token.STRING {
			t.Errorf("Page literal without a plain name: %#v", lit.Elts[0])
			return true
		}
		name, err := strconv.Unquote(s.Value)
		if err != nil {
			t.Fatal(err)
		}
		if declared[name] {
			t.Errorf("page %q declared twice", name)
		}
		declared[name] = true
		return true
	})
	if len(declared) == 0 {
		t.Fatal("found no Page declarations in pages.go")
	}
	listed := make(map[string]bool)
	for _, p := range pages() {
		listed[p.name] = true
		if !declared[p.name] {
			t.Errorf("pages() lists %q, which pages.go does not declare", p.name)
		}
	}
	for name := range declared {
		if !listed[name] {
			t.Errorf("page %q has no samples in pages()", name)
		}
	}
}

// TestZeroView checks that a View not made by Page.With renders nothing
// but a plain 500.
func TestZeroView(t *testing.T) {
	s := parse(t)
	rec := httptest.NewRecorder()
	s.Render(rec, http.StatusOK, View{})
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", rec.Code)
	}
	if strings.Contains(rec.Body.String(), "<") {
		t.Errorf("body carries markup: %q", rec.Body)
	}
}

// TestWith renders a page through its handle.
func TestWith(t *testing.T) {
	s := parse(t)
	rec := httptest.NewRecorder()
	s.Render(rec, http.StatusUnauthorized, Login.With(LoginPage{Base: Base{CSRFToken: csrf}, Error: "Wrong email or password."}))
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("status = %d, want 401", rec.Code)
	}
	body := rec.Body.String()
	if !strings.Contains(body, `<p>Wrong email or password.</p>`) {
		t.Errorf("missing the error in:\n%s", body)
	}
	checkCommon(t, body)
}

// TestSVGOnlyInIcons keeps every drawing in html/parts/icons.html, where
// the next icon is looked for, rather than inside the layout or a page.
func TestSVGOnlyInIcons(t *testing.T) {
	files, err := fs.Glob(pageFiles, "html/*.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := fs.ReadFile(pageFiles, f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "<svg") {
			t.Errorf("%s draws an SVG; define it in html/parts/icons.html", f)
		}
	}
}
