package account

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/latch-idp/latch/sessions"
)

// TestEveryKindHasWords: every kind the history may hold has a sentence on
// the activity page, never its raw name ("advanced_on").
func TestEveryKindHasWords(t *testing.T) {
	for _, k := range sessions.EventKinds {
		w, ok := eventWords[k]
		if !ok {
			t.Errorf("activity kind %q has no words on the activity page", k)
			continue
		}
		if w.title == "" || strings.Contains(w.title, "_") || w.title == string(k) {
			t.Errorf("activity kind %q reads %q", k, w.title)
		}
	}
	for k := range eventWords {
		if !slices.Contains(sessions.EventKinds, k) {
			t.Errorf("words for %q, which sessions.EventKinds does not list", k)
		}
	}
}

// TestRecordedKindsAreKnown reads latch's Go source and finds every kind of
// activity event it records, however it is written: the Kind of an Event
// literal, an assignment to an Event's Kind, the kind argument of a helper
// (recordTx, a func literal), through variables, constants and functions
// that return the kind. Each must be in sessions.EventKinds, whose every
// kind has words (TestEveryKindHasWords): so a kind recorded without words
// fails here, before anyone sees it raw. An expression the reader cannot
// follow fails too, naming its place, rather than passing unseen.
func TestRecordedKindsAreKnown(t *testing.T) {
	src := readModule(t)
	found := map[string][]string{}
	for _, u := range src.unresolved {
		t.Errorf("%s: cannot tell which activity kind this records; write it as a string literal or a constant", u)
	}
	for _, k := range src.kinds {
		found[k.kind] = append(found[k.kind], k.at)
	}
	var names []string
	for k := range found {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !slices.Contains(sessions.EventKinds, sessions.EventKind(k)) {
			t.Errorf("%s records activity kind %q, which sessions.EventKinds does not list (and the activity page has no words for)", found[k][0], k)
		}
	}
	// The reader reaches every way the code writes a kind today: a literal
	// (advanced_on), a multiple assignment to a parameter's Kind
	// (signin_failed), a function's result (new_device), a func literal's
	// argument (passkey_clone_refused), recordTx's argument
	// (recovery_key_used, step_up), and a variable (password_remove).
	for _, k := range []string{"advanced_on", "signin_failed", "account_locked", "new_device", "signin",
		"passkey_clone_refused", "recovery_key_used", "step_up", "password_remove", "session_ended",
		"reported_not_me", "device_renamed", "consent_granted"} {
		if _, ok := found[k]; !ok {
			t.Errorf("the source reader did not find %q: it no longer sees every way a kind is recorded", k)
		}
	}
}

type foundKind struct{ kind, at string }

type module struct {
	fset       *token.FileSet
	files      []*ast.File
	info       *types.Info                // what each identifier denotes, package by package
	decls      map[types.Object]ast.Node  // the Field, AssignStmt or ValueSpec that declares each object
	funcs      map[string][]*ast.FuncDecl // by name, receivers ignored
	consts     map[string][]string        // string constants by name
	kinds      []foundKind
	unresolved []string
}

// readModule parses every non-test Go file of the module and collects the
// kinds it records.
func readModule(t *testing.T) *module {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no module at %s", root)
	}
	m := &module{fset: token.NewFileSet(), funcs: map[string][]*ast.FuncDecl{}, consts: map[string][]string{},
		info:  &types.Info{Defs: map[*ast.Ident]types.Object{}, Uses: map[*ast.Ident]types.Object{}},
		decls: map[types.Object]ast.Node{}}
	byDir := map[string][]*ast.File{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(m.fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		m.files = append(m.files, f)
		byDir[filepath.Dir(path)] = append(byDir[filepath.Dir(path)], f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Each package is checked on its own, its imports empty: what matters
	// is which declaration each local name refers to, which needs no other
	// package. The errors that come of the empty imports are ignored.
	for dir, files := range byDir {
		conf := types.Config{Importer: emptyImporter{}, Error: func(error) {}}
		conf.Check(dir, m.fset, files, m.info)
	}
	for _, f := range m.files {
		var stack []ast.Node
		ast.Inspect(f, func(n ast.Node) bool {
			if n == nil {
				stack = stack[:len(stack)-1]
				return true
			}
			if id, ok := n.(*ast.Ident); ok && len(stack) > 0 {
				if obj := m.info.Defs[id]; obj != nil {
					switch p := stack[len(stack)-1].(type) {
					case *ast.Field, *ast.AssignStmt, *ast.ValueSpec:
						m.decls[obj] = p
					}
				}
			}
			stack = append(stack, n)
			return true
		})
	}
	for _, f := range m.files {
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				m.funcs[d.Name.Name] = append(m.funcs[d.Name.Name], d)
			case *ast.GenDecl:
				if d.Tok != token.CONST {
					continue
				}
				for _, spec := range d.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, n := range vs.Names {
						if i < len(vs.Values) {
							if s, ok := stringLit(vs.Values[i]); ok {
								m.consts[n.Name] = append(m.consts[n.Name], s)
							}
						}
					}
				}
			}
		}
	}
	for _, f := range m.files {
		m.scan(f)
	}
	return m
}

// emptyImporter gives every import as an empty package.
type emptyImporter struct{}

func (emptyImporter) Import(path string) (*types.Package, error) {
	return types.NewPackage(path, filepath.Base(path)), nil
}

// obj is what an identifier denotes, or nil.
func (m *module) obj(id *ast.Ident) types.Object {
	if o := m.info.Uses[id]; o != nil {
		return o
	}
	return m.info.Defs[id]
}

func stringLit(e ast.Expr) (string, bool) {
	b, ok := e.(*ast.BasicLit)
	if !ok || b.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(b.Value)
	return s, err == nil
}

// isEventType reports whether a type expression is sessions.Event (or
// Event inside package sessions), or a pointer to it.
func isEventType(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.StarExpr:
		return isEventType(x.X)
	case *ast.Ident:
		return x.Name == "Event"
	case *ast.SelectorExpr:
		id, ok := x.X.(*ast.Ident)
		return ok && id.Name == "sessions" && x.Sel.Name == "Event"
	}
	return false
}

// kindParam is the index of a parameter named kind, or -1.
func kindParam(ft *ast.FuncType) int {
	if ft.Params == nil {
		return -1
	}
	i := 0
	for _, f := range ft.Params.List {
		if len(f.Names) == 0 {
			i++
			continue
		}
		for _, n := range f.Names {
			if n.Name == "kind" {
				return i
			}
			i++
		}
	}
	return -1
}

// scan finds every place f sets an activity kind.
func (m *module) scan(f *ast.File) {
	// Func literals bound to a variable, by the variable's object.
	lits := map[types.Object]int{}
	ast.Inspect(f, func(n ast.Node) bool {
		if as, ok := n.(*ast.AssignStmt); ok {
			for i, rhs := range as.Rhs {
				if fl, ok := rhs.(*ast.FuncLit); ok && i < len(as.Lhs) {
					if id, ok := as.Lhs[i].(*ast.Ident); ok && m.obj(id) != nil {
						if k := kindParam(fl.Type); k >= 0 && m.recordsKind(fl.Body, 0) {
							lits[m.obj(id)] = k
						}
					}
				}
			}
		}
		return true
	})
	var stack []ast.Node
	ast.Inspect(f, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		stack = append(stack, n)
		switch x := n.(type) {
		case *ast.CompositeLit:
			if !isEventType(x.Type) {
				break
			}
			for _, el := range x.Elts {
				if kv, ok := el.(*ast.KeyValueExpr); ok {
					if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Kind" {
						m.resolve(kv.Value, stack)
					}
				}
			}
		case *ast.AssignStmt:
			for i, lhs := range x.Lhs {
				sel, ok := lhs.(*ast.SelectorExpr)
				if !ok || sel.Sel.Name != "Kind" || !m.isEvent(sel.X) || i >= len(x.Rhs) {
					continue
				}
				m.resolve(x.Rhs[i], stack)
			}
		case *ast.CallExpr:
			idx := -1
			switch fn := x.Fun.(type) {
			case *ast.Ident:
				if o := m.obj(fn); o != nil {
					if k, ok := lits[o]; ok {
						idx = k
					}
				}
				if idx < 0 {
					idx = m.declKindParam(fn.Name)
				}
			case *ast.SelectorExpr:
				idx = m.declKindParam(fn.Sel.Name)
			}
			if idx >= 0 && idx < len(x.Args) {
				m.resolve(x.Args[idx], stack)
			}
		}
		return true
	})
}

// declKindParam is the index of the kind parameter of the module's
// functions of this name, or -1.
func (m *module) declKindParam(name string) int {
	for _, fd := range m.funcs[name] {
		if k := kindParam(fd.Type); k >= 0 && fd.Body != nil && m.recordsKind(fd.Body, 0) {
			return k
		}
	}
	return -1
}

// recordsKind reports whether a function body puts its parameter kind into
// an activity event: as an Event's Kind, or as the kind argument of
// another function that does. Other parameters named kind (an icon's, a
// limit's) are not activity kinds.
func (m *module) recordsKind(body *ast.BlockStmt, depth int) bool {
	if depth > 4 {
		return false
	}
	isKind := func(e ast.Expr) bool { id, ok := e.(*ast.Ident); return ok && id.Name == "kind" }
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.CompositeLit:
			if isEventType(x.Type) {
				for _, el := range x.Elts {
					if kv, ok := el.(*ast.KeyValueExpr); ok {
						if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Kind" && isKind(kv.Value) {
							found = true
						}
					}
				}
			}
		case *ast.AssignStmt:
			for i, l := range x.Lhs {
				if sel, ok := l.(*ast.SelectorExpr); ok && sel.Sel.Name == "Kind" && i < len(x.Rhs) && isKind(x.Rhs[i]) {
					found = true
				}
			}
		case *ast.CallExpr:
			for _, fd := range m.funcs[callName(x)] {
				if k := kindParam(fd.Type); k >= 0 && k < len(x.Args) && isKind(x.Args[k]) && fd.Body != nil && m.recordsKind(fd.Body, depth+1) {
					found = true
				}
			}
		}
		return !found
	})
	return found
}

// isEvent reports whether x is a variable declared as a sessions.Event: a
// parameter or var of that type, or one assigned an Event literal or the
// result of a function returning one.
func (m *module) isEvent(x ast.Expr) bool {
	id, ok := x.(*ast.Ident)
	if !ok || m.obj(id) == nil {
		return false
	}
	o := m.obj(id)
	switch d := m.decls[o].(type) {
	case *ast.Field:
		return isEventType(d.Type)
	case *ast.ValueSpec:
		if d.Type != nil {
			return isEventType(d.Type)
		}
		for _, v := range d.Values {
			if m.eventValue(v) {
				return true
			}
		}
	case *ast.AssignStmt:
		for i, l := range d.Lhs {
			if lid, ok := l.(*ast.Ident); ok && m.obj(lid) == o && i < len(d.Rhs) {
				return m.eventValue(d.Rhs[i])
			}
		}
	}
	return false
}

func (m *module) eventValue(v ast.Expr) bool {
	switch x := v.(type) {
	case *ast.CompositeLit:
		return isEventType(x.Type)
	case *ast.UnaryExpr:
		return m.eventValue(x.X)
	case *ast.CallExpr:
		for _, fd := range m.funcs[callName(x)] {
			if fd.Type.Results != nil && len(fd.Type.Results.List) > 0 && isEventType(fd.Type.Results.List[0].Type) {
				return true
			}
		}
	}
	return false
}

// resolve records the kinds expression e can be, at its place in the
// stack of nodes that encloses it.
func (m *module) resolve(e ast.Expr, stack []ast.Node) {
	at := m.fset.Position(e.Pos()).String()
	if root, err := filepath.Abs(".."); err == nil {
		at = strings.TrimPrefix(at, root+string(filepath.Separator))
	}
	kinds, ok := m.values(e, stack, 0)
	if !ok {
		m.unresolved = append(m.unresolved, at)
		return
	}
	for _, k := range kinds {
		m.kinds = append(m.kinds, foundKind{k, at})
	}
}

// values are the strings e can be; ok is false when the reader cannot
// follow it. A parameter named kind is the callers' to say (scan finds
// their arguments), so it adds nothing.
func (m *module) values(e ast.Expr, stack []ast.Node, depth int) ([]string, bool) {
	if depth > 8 {
		return nil, false
	}
	if s, ok := stringLit(e); ok {
		if s == "" {
			return nil, true // a zero value on an error path
		}
		return []string{s}, true
	}
	switch x := e.(type) {
	case *ast.ParenExpr:
		return m.values(x.X, stack, depth+1)
	case *ast.SelectorExpr:
		if vs, ok := m.consts[x.Sel.Name]; ok {
			return vs, true
		}
	case *ast.Ident:
		o := m.obj(x)
		if _, isConst := o.(*types.Const); o == nil || isConst {
			vs, ok := m.consts[x.Name]
			return vs, ok
		}
		if _, ok := m.decls[o].(*ast.Field); ok {
			return nil, x.Name == "kind"
		}
		// Every assignment to the variable inside the enclosing function.
		fn := enclosingFunc(stack)
		if fn == nil {
			return nil, false
		}
		var out []string
		ok := true
		seen := false
		ast.Inspect(fn, func(n ast.Node) bool {
			switch a := n.(type) {
			case *ast.AssignStmt:
				for i, l := range a.Lhs {
					id, isID := l.(*ast.Ident)
					if !isID || m.obj(id) != o {
						continue
					}
					seen = true
					var rhs ast.Expr
					switch {
					case len(a.Rhs) == len(a.Lhs):
						rhs = a.Rhs[i]
					case len(a.Rhs) == 1 && i == 0:
						rhs = a.Rhs[0] // kind, err := f(...)
					default:
						continue
					}
					vs, good := m.valuesOfRHS(rhs, stack, depth)
					out, ok = append(out, vs...), ok && good
				}
			case *ast.ValueSpec:
				for i, n := range a.Names {
					if m.obj(n) == o && i < len(a.Values) {
						seen = true
						vs, good := m.valuesOfRHS(a.Values[i], stack, depth)
						out, ok = append(out, vs...), ok && good
					}
				}
			}
			return true
		})
		return out, ok && seen
	}
	return nil, false
}

// valuesOfRHS follows a value assigned to a kind variable: a literal, or
// a call to a function of the module whose first results are literals.
func (m *module) valuesOfRHS(rhs ast.Expr, stack []ast.Node, depth int) ([]string, bool) {
	call, ok := rhs.(*ast.CallExpr)
	if !ok {
		return m.values(rhs, stack, depth+1)
	}
	decls := m.funcs[callName(call)]
	if len(decls) == 0 {
		return nil, false
	}
	var out []string
	good := true
	for _, fd := range decls {
		if fd.Body == nil {
			continue
		}
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			if _, lit := n.(*ast.FuncLit); lit {
				return false
			}
			if r, ok := n.(*ast.ReturnStmt); ok && len(r.Results) > 0 {
				vs, ok := m.values(r.Results[0], []ast.Node{fd}, depth+1)
				out, good = append(out, vs...), good && ok
			}
			return true
		})
	}
	return out, good
}

// enclosingFunc is the outermost function around the place: a variable
// may be assigned in a closure and read outside it, or the other way.
func enclosingFunc(stack []ast.Node) ast.Node {
	for _, n := range stack {
		switch n.(type) {
		case *ast.FuncDecl, *ast.FuncLit:
			return n
		}
	}
	return nil
}

// callName is the name of the function a call calls: f in f() and in x.f().
func callName(c *ast.CallExpr) string {
	switch fn := c.Fun.(type) {
	case *ast.Ident:
		return fn.Name
	case *ast.SelectorExpr:
		return fn.Sel.Name
	}
	return ""
}
