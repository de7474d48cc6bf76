package archtest

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// exempt are the packages that may name any table, each with its reason
// (docs/tables.md, "Exempt").
var exempt = map[string]string{
	"internal/seed": "fills every table at once with COPY, as a restore would",
	"migrations":    "is the schema itself",
}

// root is the module's directory.
func root(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}

// owners reads the table of docs/tables.md: table name → owning package
// (its directory in the module).
func owners(t *testing.T, dir string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "docs", "tables.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("^\\| `([a-z_]+)` \\| `([a-z/]+)` \\|")
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if m := row.FindStringSubmatch(line); m != nil {
			if prev, ok := out[m[1]]; ok {
				t.Errorf("docs/tables.md: %s has two owners, %s and %s", m[1], prev, m[2])
			}
			out[m[1]] = m[2]
		}
	}
	if len(out) == 0 {
		t.Fatal("docs/tables.md lists no table")
	}
	return out
}

// created returns the tables the migrations create.
func created(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "migrations", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations: %v", err)
	}
	create := regexp.MustCompile(`(?i)CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([a-z_][a-z0-9_]*)`)
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range create.FindAllStringSubmatch(string(b), -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// TestEveryTableHasAnOwner: a table a migration creates is in
// docs/tables.md, with a package that exists, and the file lists no table
// that does not exist.
func TestEveryTableHasAnOwner(t *testing.T) {
	dir := root(t)
	own := owners(t, dir)
	tables := created(t, dir)
	for _, tb := range tables {
		pkg, ok := own[tb]
		if !ok {
			t.Errorf("table %s has no owner in docs/tables.md", tb)
			continue
		}
		if fi, err := os.Stat(filepath.Join(dir, pkg)); err != nil || !fi.IsDir() {
			t.Errorf("docs/tables.md: %s is owned by %s, which is no package", tb, pkg)
		}
	}
	for tb := range own {
		if !slices.Contains(tables, tb) {
			t.Errorf("docs/tables.md lists %s, which no migration creates", tb)
		}
	}
}

// TestTablesOnlyInTheirOwnersSQL: no package's SQL names a table another
// package owns.
func TestTablesOnlyInTheirOwnersSQL(t *testing.T) {
	dir := root(t)
	own := owners(t, dir)
	checked := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != dir && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		rel, err := filepath.Rel(dir, filepath.Dir(path))
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(rel)
		if _, ok := exempt[pkg]; ok {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		for _, v := range violations(pkg, filepath.ToSlash(filepath.Join(rel, name)), src, own) {
			t.Error(v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("checked only %d files: is the walk rooted at the module?", checked)
	}
}

// violations returns where the Go source src of package pkg names, in a
// string, a table of own that pkg does not own.
func violations(pkg, file string, src []byte, own map[string]string) []string {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.SkipObjectResolution)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", file, err)}
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		s, err := strconv.Unquote(lit.Value)
		if err != nil {
			return true
		}
		for _, tb := range tablesIn(s) {
			if owner, known := own[tb]; known && owner != pkg {
				out = append(out, fmt.Sprintf("%s: package %s names table %s, which %s owns (docs/tables.md): ask %s's methods",
					fset.Position(lit.Pos()), pkg, tb, owner, owner))
			}
		}
		return true
	})
	return out
}

var sqlToken = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_$]*|\S`)

// tablesIn returns the names in relation position in a piece of SQL: after
// FROM, JOIN, INTO, UPDATE, USING, TABLE, TRUNCATE and COPY, and each item
// of a comma-separated FROM or USING list. Subqueries and WITH bodies are
// read as SQL of their own, wherever they stand. Anything else a string
// holds (a sentence, a URL) yields names no table has.
func tablesIn(sql string) []string {
	toks := sqlToken.FindAllString(sql, -1)
	ident := func(i int) bool {
		return i < len(toks) && (toks[i][0] == '_' || toks[i][0] >= 'A' && toks[i][0] <= 'Z' || toks[i][0] >= 'a' && toks[i][0] <= 'z')
	}
	// name reads a possibly qualified name at i (schema.table) and
	// returns it with the index after it.
	name := func(i int) (string, int) {
		n := toks[i]
		i++
		for i+1 < len(toks) && toks[i] == "." && ident(i+1) {
			n = toks[i+1]
			i += 2
		}
		return strings.ToLower(n), i
	}
	var out []string
	for i := 0; i < len(toks); i++ {
		kw := strings.ToUpper(toks[i])
		switch kw {
		case "FROM", "JOIN", "INTO", "UPDATE", "USING", "TABLE", "TRUNCATE", "COPY":
		default:
			continue
		}
		j := i + 1
		for j < len(toks) && (strings.EqualFold(toks[j], "ONLY") || strings.EqualFold(toks[j], "LATERAL")) {
			j++
		}
		if kw != "FROM" && kw != "USING" {
			if ident(j) {
				n, _ := name(j)
				out = append(out, n)
			}
			continue
		}
		// A FROM list: items separated by commas at this depth, until a
		// clause ends it. Parentheses (subqueries, function arguments) are
		// skipped here; their own keywords are read in the outer loop.
		depth := 0
		expect := true
		for ; j < len(toks); j++ {
			tok := toks[j]
			switch {
			case tok == "(":
				depth++
				expect = false
				continue
			case tok == ")":
				if depth == 0 {
					j = len(toks)
					continue
				}
				depth--
				continue
			case depth > 0:
				continue
			case tok == ",":
				expect = true
				continue
			case tok == ";" || ident(j) && endsFromList[strings.ToUpper(tok)]:
				j = len(toks)
				continue
			}
			if expect && ident(j) {
				n, next := name(j)
				if next >= len(toks) || toks[next] != "(" { // not a function such as unnest(...)
					out = append(out, n)
				}
				j = next - 1
			}
			expect = false
		}
	}
	return out
}

// endsFromList are the words after which a FROM list is over.
var endsFromList = map[string]bool{
	"WHERE": true, "JOIN": true, "LEFT": true, "RIGHT": true, "INNER": true, "FULL": true, "CROSS": true,
	"NATURAL": true, "ON": true, "GROUP": true, "ORDER": true, "LIMIT": true, "OFFSET": true, "HAVING": true,
	"WINDOW": true, "UNION": true, "INTERSECT": true, "EXCEPT": true, "RETURNING": true, "FOR": true,
	"SET": true, "SELECT": true, "VALUES": true, "FETCH": true, "USING": true,
}

// TestTablesIn: the reader of SQL finds tables in every position latch's
// statements put them, and nothing in prose.
func TestTablesIn(t *testing.T) {
	for _, c := range []struct {
		sql  string
		want []string
	}{
		{`SELECT email, name FROM accounts WHERE id = $1`, []string{"accounts"}},
		{`select 1 from Accounts a left join passwords p on p.account_id = a.id`, []string{"accounts", "passwords"}},
		{`UPDATE refresh_tokens t SET rotated_at = $3 FROM app_sessions a, device_sessions d, accounts acc WHERE a.id = t.app_session_id`,
			[]string{"refresh_tokens", "app_sessions", "device_sessions", "accounts"}},
		{`WITH rot AS (UPDATE refresh_tokens SET x = 1 RETURNING id), touched AS (UPDATE app_sessions SET y = 2 FROM rot WHERE true)
			INSERT INTO access_tokens (id) SELECT id FROM rot`, []string{"refresh_tokens", "app_sessions", "rot", "access_tokens", "rot"}},
		{`DELETE FROM pending_changes WHERE expires_at < $1`, []string{"pending_changes"}},
		{`SELECT (SELECT count(*) FROM passkeys WHERE account_id = $1), EXISTS (SELECT 1 FROM passwords WHERE account_id = $1)`,
			[]string{"passkeys", "passwords"}},
		{`SELECT $1, s.id, h, $3 FROM s, unnest($2::bytea[]) AS h`, []string{"s"}},
		{`FROM (SELECT a.id FROM app_sessions a JOIN device_sessions d ON d.id = a.device_session_id) x, public.outbox o`,
			[]string{"app_sessions", "device_sessions", "outbox"}},
		{`DELETE FROM throttle_budgets USING signin_failures f WHERE true`, []string{"throttle_budgets", "signin_failures"}},
		{`COPY known_devices (account_id) FROM STDIN`, []string{"known_devices", "stdin"}},
		{`TRUNCATE activity`, []string{"activity"}},
		{`Your account was just used to sign in from a new device.`, []string{"a"}},
		{`Signed out from another device`, []string{"another"}},
		{`/account/activity`, nil},
	} {
		got := tablesIn(c.sql)
		slices.Sort(got)
		slices.Sort(c.want)
		if !slices.Equal(got, c.want) {
			t.Errorf("tablesIn(%q) = %q, want %q", c.sql, got, c.want)
		}
	}
}

// TestViolationsFound: SQL that names another package's table, in any
// string of a package's source, is a violation; the owner's own is not.
func TestViolationsFound(t *testing.T) {
	own := map[string]string{"accounts": "authn", "device_sessions": "sessions", "app_sessions": "sessions"}
	src := func(pkg string) []byte {
		return []byte("package " + pkg + "\n\nconst q = `SELECT email FROM accounts WHERE id = $1`\n\n" +
			"func f() string { return \"UPDATE device_sessions SET ended_at = now()\" + ` FROM app_sessions a, accounts acc` }\n")
	}
	got := violations("sessions", "sessions/x.go", src("sessions"), own)
	if len(got) != 2 || !strings.Contains(got[0], "sessions/x.go:3:") || !strings.Contains(got[0], "names table accounts, which authn owns") ||
		!strings.Contains(got[1], "sessions/x.go:5:") {
		t.Errorf("violations in sessions = %q, want accounts on lines 3 and 5", got)
	}
	got = violations("authn", "authn/x.go", src("authn"), own)
	if len(got) != 2 || !strings.Contains(got[0], "names table device_sessions, which sessions owns") ||
		!strings.Contains(got[1], "names table app_sessions, which sessions owns") {
		t.Errorf("violations in authn = %q, want device_sessions and app_sessions on line 5", got)
	}
}

// TestSessionsRendersNoPage: the session domain depends on no page; the
// pages of sessions live in package account.
func TestSessionsRendersNoPage(t *testing.T) {
	dir := root(t)
	files, err := filepath.Glob(filepath.Join(dir, "sessions", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "github.com/latch-idp/latch/templates" || p == "github.com/latch-idp/latch/internal/web" || p == "github.com/latch-idp/latch/account" {
				t.Errorf("%s imports %s: sessions is the session domain, its pages are package account's", filepath.Base(path), p)
			}
		}
	}
}
