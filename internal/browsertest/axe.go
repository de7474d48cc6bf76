package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// EnvAxe names the environment variable with the path of axe.min.js (the
// axe-core accessibility engine). Without it, Axe reads
// .cache/axe-core/axe.min.js at the root of the module, where
// scripts/install-deps.sh puts the version it pins.
const EnvAxe = "LATCH_AXE"

// AxeViolation is one rule that a page breaks, with the elements that break
// it, as axe-core reports it.
type AxeViolation struct {
	ID      string    `json:"id"`     // the rule, such as "color-contrast"
	Impact  string    `json:"impact"` // "minor", "moderate", "serious" or "critical"
	Help    string    `json:"help"`   // what the rule asks for, in a sentence
	HelpURL string    `json:"helpUrl"`
	Nodes   []AxeNode `json:"nodes"`
}

// AxeNode is an element that breaks a rule.
type AxeNode struct {
	Target  string `json:"target"`  // a CSS selector for it
	HTML    string `json:"html"`    // the start of its markup
	Summary string `json:"summary"` // what is wrong with it, such as the contrast found
}

// Serious reports whether the violation is serious or critical, the impacts
// that keep a person from using the page.
func (v AxeViolation) Serious() bool { return v.Impact == "serious" || v.Impact == "critical" }

// String describes the violation on a few lines: the rule, its impact and
// help, and each element with what is wrong with it.
func (v AxeViolation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s", v.ID, v.Impact, v.Help)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "\n\t%s\n\t\t%s", n.Target, snippet(n.HTML, 160))
		if s := strings.Join(strings.Fields(n.Summary), " "); s != "" {
			fmt.Fprintf(&b, "\n\t\t%s", snippet(s, 300))
		}
	}
	return b.String()
}

// axeSource is axe.min.js, read once per test binary.
var axeSource struct {
	once sync.Once
	js   string
	err  error
}

// Axe runs axe-core's default rules on the page in the tab, once it has
// settled (see Settle), and returns every violation, whatever its impact. It adds axe to
// the page first if the page lacks it, through the DevTools protocol rather
// than a script element, which latch's Content-Security-Policy would refuse.
// Without axe.min.js it fails the test and says how to install it.
func Axe(t testing.TB, ctx context.Context) []AxeViolation {
	t.Helper()
	axeSource.once.Do(func() { axeSource.js, axeSource.err = readAxe() })
	if axeSource.err != nil {
		t.Fatalf("browsertest: %v", axeSource.err)
	}
	if !Eval[bool](t, ctx, `typeof window.axe === 'object'`) {
		run(t, ctx, "add axe-core to the page", chromedp.Evaluate[bool](axeSource.js+"\n;typeof window.axe === 'object'"))
	}
	Settle(t, ctx)
	return Eval[[]AxeViolation](t, ctx, `axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ({
		id: v.id, impact: v.impact || '', help: v.help, helpUrl: v.helpUrl,
		nodes: v.nodes.map(n => ({target: n.target.flat().join(' '), html: n.html, summary: n.failureSummary || ''})),
	})))`)
}

// AxeVersion returns the version of the axe-core in the page, which Axe
// added.
func AxeVersion(t testing.TB, ctx context.Context) string {
	t.Helper()
	return Eval[string](t, ctx, `typeof window.axe === 'object' ? axe.version : ''`)
}

// readAxe reads axe.min.js from $LATCH_AXE or the module's .cache.
func readAxe() (string, error) {
	path := os.Getenv(EnvAxe)
	if path == "" {
		root, err := moduleRoot()
		if err != nil {
			return "", err
		}
		path = filepath.Join(root, ".cache", "axe-core", "axe.min.js")
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("axe-core not found at %s: run scripts/install-deps.sh", path)
	}
	return string(b), err
}

// moduleRoot is the nearest directory at or above the working directory
// with a go.mod: go test runs a package's tests in its own directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
